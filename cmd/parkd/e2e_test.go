package main

import (
	"context"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator"
)

// TestSimulatorOverQiuaiWithFaultsVerifiesClean runs the simulator over the
// whole Qiuai registry, with duplicates, reordering, malformed messages and
// silent sensors, through real Mosquitto into parkd on real Redis; the API
// must then agree with the simulator's ground truth for every space.
func TestSimulatorOverQiuaiWithFaultsVerifiesClean(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run over the full registry")
	}
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	cfg := testConfig(mosq.URL, rds.URL, "../../configs/qiuai")
	p := startParkd(t, cfg)
	reg, err := occupancy.LoadRegistry(cfg.Registry)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.New(simulator.Options{BrokerURL: mosq.URL, Registry: reg,
		Accel: 600, Duration: 8 * time.Second, MaxRate: 2000, Heartbeat: 20 * time.Second, Seed: 7,
		Faults: simulator.Faults{DuplicatePct: 5, ReorderPct: 5, MalformedPct: 1, SilentPct: 2}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := sim.Stats()
	t.Logf("simulator: %+v", st)
	rep, err := simulator.Verify(ctx, p.base, sim.Truth(), simulator.VerifyOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify: %s\nmismatches: %+v\ncounters: %v", rep.String(), rep.Mismatches, rep.Counters)
	}
	got := p.ingestCounts(t)
	t.Logf("verify: %s; ingest: %v", rep.String(), got)
	if got["duplicate"] == 0 || got["stale"] == 0 || got["invalid"] == 0 {
		t.Errorf("the faults did not reach parkd: %v", got)
	}
	p.checkCountersAddUp(t)
}
