package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

// errRedisDown stands for the store's internal error while Redis is away.
var errRedisDown = errors.New("redis store: apply reading: dial tcp 127.0.0.1:1: connect: connection refused")

// fakeStore is a Store double for the middleware tests: it records what it
// is given, answers a scripted result per sensor, and can fail or panic.
type fakeStore struct {
	mu         sync.Mutex
	results    map[string]occupancy.Result // by sensor id; default applied
	failApply  int                         // fail this many readings with errRedisDown
	failDead   int                         // fail this many AddDeadLetter calls
	panicOn    string                      // applying a reading of this sensor id panics
	panicDead  bool                        // AddDeadLetter panics
	tick       func()                      // called at each reading applied (a clock moving on)
	applyCalls int
	deadCalls  int
	applied    []occupancy.Reading
	dead       []occupancy.DeadLetter
	noted      []occupancy.Reading // readings rejected for their clock, noted
}

func (s *fakeStore) ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	return applyEach(ctx, rs, s.apply)
}

// apply answers one reading.
func (s *fakeStore) apply(_ context.Context, r occupancy.Reading) (occupancy.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyCalls++
	if s.tick != nil {
		s.tick()
	}
	if r.SensorID == s.panicOn {
		panic("boom: nil map in the store")
	}
	if s.failApply > 0 {
		s.failApply--
		return "", errRedisDown
	}
	s.applied = append(s.applied, r)
	if res, ok := s.results[r.SensorID]; ok {
		return res, nil
	}
	return occupancy.ResultApplied, nil
}

func (s *fakeStore) AddDeadLetter(ctx context.Context, d occupancy.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadCalls++
	if s.panicDead {
		panic("boom: the dead-letter stream is gone")
	}
	if s.failDead > 0 {
		s.failDead--
		return errRedisDown
	}
	s.dead = append(s.dead, d)
	return nil
}

func (s *fakeStore) NoteClocks(_ context.Context, rs []occupancy.Reading) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	known := make([]bool, len(rs))
	for i, r := range rs {
		known[i] = !strings.HasPrefix(r.SensorID, "ghost")
	}
	s.noted = append(s.noted, rs...)
	return known, nil
}

// applyEach answers rs one reading at a time with apply, as ApplyBatch
// does: the store doubles of these tests answer each reading on its own.
func applyEach(ctx context.Context, rs []occupancy.Reading,
	apply func(context.Context, occupancy.Reading) (occupancy.Result, error)) ([]occupancy.Result, []error) {
	results, errs := make([]occupancy.Result, len(rs)), make([]error, len(rs))
	for i, r := range rs {
		results[i], errs[i] = apply(ctx, r)
	}
	return results, errs
}

// handle runs one message through p, a batch of one as a worker with Batch
// 1 hands it over, and returns Handle's error; nil means it was done.
func handle(ctx context.Context, p *Pipeline, topic string, payload []byte) error {
	done := false
	err := p.Handle(ctx, []Message{{Topic: topic, Payload: payload}}, func(int) { done = true })
	if err == nil && !done {
		return errors.New("Handle returned nil without calling done")
	}
	return err
}

// snapshot returns copies of what the store holds.
func (s *fakeStore) snapshot() (applied []occupancy.Reading, dead []occupancy.DeadLetter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]occupancy.Reading(nil), s.applied...), append([]occupancy.DeadLetter(nil), s.dead...)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestLogger() (*slog.Logger, *testenv.SyncBuffer) {
	buf := &testenv.SyncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// metricValue returns the value of the metric name whose labels include
// the given name=value pairs; it fails the test if there is none.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				return value(m)
			}
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func hasLabels(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == kv[i] && lp.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	panic(fmt.Sprintf("unsupported metric %v", m))
}

// payloadFor returns a valid message for a sensor at clock time ts.
func payloadFor(ts time.Time, occupied bool, seq int) []byte {
	return fmt.Appendf(nil, `{"occupied":%t,"ts":%q,"seq":%d,"kind":"status"}`, occupied, ts.Format(time.RFC3339Nano), seq)
}

// topicFor returns the uplink topic of a sensor.
func topicFor(id string) string { return codec.Topic(id) }

func f64(v float64) *float64 { return &v }

func intp(v int) *int { return &v }
