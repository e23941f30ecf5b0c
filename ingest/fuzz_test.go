package ingest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// FuzzHandle feeds arbitrary topics and payloads to the pipeline, a batch
// of one as a worker with Batch 1 hands them over. It checks that nothing
// panics, that every reading handed to the store satisfies Validate, and
// that every message is done: its outcome is applied or a rejection, never
// one to retry.
func FuzzHandle(f *testing.F) {
	f.Add("parking/v1/sensors/S-000001/up", []byte(`{"occupied": true, "ts": "2026-11-25T08:00:00.123Z", "seq": 42, "kind": "status", "battery_mv": 3600}`))
	f.Add("parking/v1/sensors/x/up", []byte(`{"occupied":false,"ts":"2026-11-25T07:59:59+08:00","temp_c":-3.25}`))
	f.Add("parking/v1/sensors/x/up", []byte(`{"occupied":"yes"}`))
	f.Add("parking/v1/sensors/x/up", []byte(`{"occupied":true,"ts":"2026-11-25T09:00:00Z"}`))
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	store := &fuzzStore{now: now}
	p, err := NewPipeline(PipelineOptions{Store: store, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		store.bad = nil
		// An outcome that is neither applied nor a rejection would be
		// retried until ctx ends.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := handle(ctx, p, topic, payload); err != nil {
			t.Fatalf("Handle = %v, want every message done", err)
		}
		if store.bad != nil {
			t.Fatalf("the store got a reading that fails Validate: %v", store.bad)
		}
	})
}

// fuzzStore applies nothing; it records a reading that fails Validate.
type fuzzStore struct {
	now time.Time
	bad error
}

func (s *fuzzStore) ApplyBatch(_ context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	results := make([]occupancy.Result, len(rs))
	for i, r := range rs {
		if err := r.Validate(s.now); err != nil {
			s.bad = err
		}
		results[i] = occupancy.ResultApplied
	}
	return results, make([]error, len(rs))
}

func (s *fuzzStore) AddDeadLetter(context.Context, occupancy.DeadLetter) error { return nil }

// NoteClocks records a reading that fails ValidateFields or has a good
// clock: only readings rejected for their clock alone may come here.
func (s *fuzzStore) NoteClocks(_ context.Context, rs []occupancy.Reading) ([]bool, error) {
	for _, r := range rs {
		if err := r.ValidateFields(); err != nil {
			s.bad = err
		} else if r.CheckClock(s.now, occupancy.DefaultMaxReadingAge) == nil {
			s.bad = errors.New("a reading with a good clock was noted as a wrong one")
		}
	}
	return make([]bool, len(rs)), nil
}
