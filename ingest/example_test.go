package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/ingest"
	"github.com/qiuai/parking/occupancy"
)

func ExampleDecode() {
	r, err := ingest.Decode("parking/v1/sensors/S-000001/up",
		[]byte(`{"occupied": true, "ts": "2026-11-25T08:00:00.123Z", "seq": 42, "kind": "status", "battery_mv": 3600}`))
	fmt.Println(r.SensorID, r.Occupied, r.TS.Format(time.RFC3339Nano), r.Seq, r.Kind, r.BatteryMV, err)

	_, err = ingest.Decode("parking/v1/sensors/S-000001/up", []byte(`{"occupied": "yes"}`))
	fmt.Println(occupancy.ErrorCode(err), occupancy.ErrorMessage(err))
	// Output:
	// S-000001 true 2026-11-25T08:00:00.123Z 42 status 3600 <nil>
	// invalid "occupied" must be true or false, not "yes"
}

// ExampleNew wires a Subscriber. store would be a *redisstore.Store.
func ExampleNew() {
	var store ingest.Store // e.g. a *redisstore.Store
	if store == nil {
		return // this example only shows the wiring
	}
	sub, err := ingest.New(ingest.Options{
		BrokerURL:  "tcp://127.0.0.1:1883",
		ClientID:   "parkd-ingest-0", // stable: it names the persistent session
		Store:      store,
		Registerer: prometheus.DefaultRegisterer,
		Logger:     slog.Default(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := sub.Run(ctx); err != nil { // returns after ctx is done and in-flight work is acked
		fmt.Println(err)
	}
}
