package ingest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// FuzzDecode feeds arbitrary topics and payloads to Decode and to the
// pipeline's core handler. Seeds are in testdata/fuzz/FuzzDecode. It checks
// that nothing panics, that every rejection is an EINVALID error with a
// message, that every reading handed to the store satisfies Validate, and
// that an accepted reading survives a round trip through the wire format.
func FuzzDecode(f *testing.F) {
	f.Add(testTopic, []byte(`{"occupied": true, "ts": "2026-11-25T08:00:00.123Z", "seq": 42, "kind": "status", "battery_mv": 3600}`))
	f.Add("parking/v1/sensors/x/up", []byte(`{"occupied":false,"ts":"2026-11-25T07:59:59+08:00","temp_c":-3.25}`))
	f.Add("parking/v1/sensors/x/up", []byte(`{"occupied":"yes"}`))
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	store := &fuzzStore{now: now}
	p, err := NewPipeline(PipelineOptions{Store: store, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		r, err := Decode(topic, payload)
		if err != nil {
			if occupancy.ErrorCode(err) != occupancy.EINVALID || occupancy.ErrorMessage(err) == "" {
				t.Fatalf("Decode error %v is not EINVALID with a message", err)
			}
		} else {
			checkAccepted(t, topic, r)
		}
		store.bad = nil
		err = p.Apply(context.Background(), topic, payload)
		if store.bad != nil {
			t.Fatalf("the store got a reading that fails Validate: %v", store.bad)
		}
		if _, _, rejected := rejection(err); err != nil && !rejected {
			t.Fatalf("Apply error %v is neither nil nor a rejection", err)
		}
	})
}

// checkAccepted checks a reading Decode accepted.
func checkAccepted(t *testing.T, topic string, r occupancy.Reading) {
	t.Helper()
	if r.SensorID == "" || strings.Contains(r.SensorID, "/") || topic != TopicPrefix+r.SensorID+TopicSuffix {
		t.Fatalf("sensor id %q does not come from topic %q", r.SensorID, topic)
	}
	// Validate must not panic; with now = ts, only range checks can fail.
	if err := r.Validate(r.TS); err != nil {
		if occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Fatalf("Validate returned a non-EINVALID error: %v", err)
		}
		return // out of range: the round trip is for readings the store gets
	}
	again, err := Decode(topic, encode(r))
	if err != nil {
		t.Fatalf("re-encoded reading %+v does not decode: %v (%s)", r, err, encode(r))
	}
	if !equalReading(again, r) {
		t.Fatalf("round trip changed the reading:\n %+v\n %+v", r, again)
	}
}

// encode writes r in the native wire format.
func encode(r occupancy.Reading) []byte {
	m := map[string]any{"occupied": r.Occupied, "ts": r.TS.Format(time.RFC3339Nano), "seq": r.Seq, "battery_mv": r.BatteryMV}
	if r.Kind != "" {
		m["kind"] = string(r.Kind)
	}
	if r.TempC != nil {
		m["temp_c"] = *r.TempC
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// fuzzStore applies nothing; it records a reading that fails Validate.
type fuzzStore struct {
	now time.Time
	bad error
}

func (s *fuzzStore) Apply(_ context.Context, r occupancy.Reading) (occupancy.Result, error) {
	if err := r.Validate(s.now); err != nil {
		s.bad = err
	}
	return occupancy.ResultApplied, nil
}

func (s *fuzzStore) AddDeadLetter(context.Context, occupancy.DeadLetter) error { return nil }
