package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/ingest"
)

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
