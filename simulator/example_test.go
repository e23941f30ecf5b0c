package simulator_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator"
)

// Simulate the Qiuai town for a minute with a few faults, then check that
// parkd's API shows every space as its sensor last said.
func Example() {
	reg, err := occupancy.LoadRegistry("configs/qiuai")
	if err != nil {
		log.Fatal(err)
	}
	sim, err := simulator.New(simulator.Options{
		BrokerURL: "tcp://127.0.0.1:1883",
		Registry:  reg,
		Duration:  time.Minute,
		Faults:    simulator.Faults{DuplicatePct: 5, ReorderPct: 5, MalformedPct: 1, SilentPct: 2},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := sim.Run(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(sim.Stats().Summary())
	rep, err := simulator.Verify(ctx, "http://127.0.0.1:8080", sim.Truth(), simulator.VerifyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.String())
}
