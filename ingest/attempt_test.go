package ingest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/occupancy"
)

// hangStore is a Store whose first hangs readings never get an answer
// until their context ends, as from a frozen Redis that still accepts
// connections.
type hangStore struct {
	fakeStore
	hangs atomic.Int32
}

func (s *hangStore) ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	return applyEach(ctx, rs, s.apply)
}

func (s *hangStore) apply(ctx context.Context, r occupancy.Reading) (occupancy.Result, error) {
	if s.hangs.Add(-1) >= 0 {
		<-ctx.Done()
		return "", fmt.Errorf("redis store: apply reading: %w", ctx.Err())
	}
	return s.fakeStore.apply(ctx, r)
}

// TestPipelineTimesOutHungStore: an attempt that gets no answer within
// AttemptTimeout counts as a failure: retried, in the outage metrics and
// StoreErr, and the message is applied once the store answers again.
func TestPipelineTimesOutHungStore(t *testing.T) {
	store := &hangStore{}
	store.hangs.Store(3)
	reg := prometheus.NewRegistry()
	p, err := NewPipeline(PipelineOptions{Store: store, Registerer: reg,
		RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, AttemptTimeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- handle(context.Background(), p, topicFor("s1"), payloadFor(time.Now(), true, 1)) }()
	waitFor(t, "the hung store to be seen down", func() bool { return p.StoreErr() != nil })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("handler = %v, want nil once the store answers", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler is still waiting on a hung store: no attempt timeout")
	}
	if applied, _ := store.snapshot(); len(applied) != 1 {
		t.Errorf("applied %d readings, want 1", len(applied))
	}
	if v := metricValue(t, reg, "parkd_ingest_retries_total"); v != 3 {
		t.Errorf("retries = %v, want 3", v)
	}
	if v := metricValue(t, reg, "parkd_ingest_store_down_seconds_total"); v < 0.05 {
		t.Errorf("store down seconds = %v, want the 2 timed-out attempts after the first (>= 0.05)", v)
	}
	if err := p.StoreErr(); err != nil {
		t.Errorf("StoreErr after recovery = %v", err)
	}
}
