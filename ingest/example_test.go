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
	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
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

// memStore applies every reading and keeps dead letters in memory: enough
// for an example.
type memStore struct{ dead []occupancy.DeadLetter }

func (s *memStore) ApplyBatch(_ context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	results := make([]occupancy.Result, len(rs))
	for i := range results {
		results[i] = occupancy.ResultApplied
	}
	return results, make([]error, len(rs))
}

func (s *memStore) AddDeadLetter(_ context.Context, d occupancy.DeadLetter) error {
	s.dead = append(s.dead, d)
	return nil
}

func (s *memStore) NoteClocks(_ context.Context, rs []occupancy.Reading) ([]bool, error) {
	known := make([]bool, len(rs))
	for i := range known {
		known[i] = true
	}
	return known, nil
}

// A batch of two messages: one reading applied, one message rejected and
// kept as a dead letter. Each is acknowledged once handled.
func ExamplePipeline_Handle() {
	store := &memStore{}
	p, err := ingest.NewPipeline(ingest.PipelineOptions{Store: store})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := occupancy.Reading{Occupied: true, TS: time.Now().Add(-time.Minute), Seq: 1, Kind: occupancy.ReadingStatus}
	msgs := []ingest.Message{
		{Topic: codec.Topic("S-000001"), Payload: codec.EncodeNative(r)},
		{Topic: codec.Topic("S-000002"), Payload: []byte(`{"occupied": "yes"}`)},
	}
	err = p.Handle(context.Background(), msgs, func(i int) { fmt.Println("ack", msgs[i].Topic) })
	fmt.Println(err, store.dead[0].Topic, store.dead[0].Result, store.dead[0].Reason)
	// Output:
	// ack parking/v1/sensors/S-000001/up
	// ack parking/v1/sensors/S-000002/up
	// <nil> parking/v1/sensors/S-000002/up invalid "occupied" must be true or false, not "yes"
}
