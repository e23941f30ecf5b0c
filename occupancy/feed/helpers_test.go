package feed_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// forEachBackend is storetest.ForEachBackend with how parkd's feed reads
// each backend: blocking on a redis-server, polling on miniredis (whose
// blocking reads stall the scripts).
func forEachBackend(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient, poll bool)) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Start(t), b.Name == "miniredis") })
	}
}

// runTailer runs a Tailer of opts until the returned stop is called or the
// test ends. Unless opts says otherwise, reads block 100 ms (so a stop is
// quick) and pause 1 ms.
func runTailer(t testing.TB, opts feed.TailerOptions) (stop func()) {
	t.Helper()
	if opts.Block == 0 {
		opts.Block = 100 * time.Millisecond
	}
	if opts.Pause == 0 {
		opts.Pause = time.Millisecond
	}
	tl := feed.NewTailer(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("tailer: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("the tailer did not stop within 10s of its context's end")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// recorder is a sink that keeps every batch it is delivered.
type recorder struct {
	mu      sync.Mutex
	batches []feed.Batch
}

func (r *recorder) Deliver(_ context.Context, b feed.Batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, b)
}

// got returns the batches delivered so far.
func (r *recorder) got() []feed.Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]feed.Batch(nil), r.batches...)
}

// lines returns the events delivered so far (line of each).
func (r *recorder) lines() []string {
	var out []string
	for _, b := range r.got() {
		out = append(out, lines(b.Events)...)
	}
	return out
}

// waitBatches waits until r has n batches.
func (r *recorder) waitBatches(t testing.TB, n int) {
	t.Helper()
	storetest.Eventually(t, 10*time.Second, func() string {
		if got := len(r.got()); got < n {
			return fmt.Sprintf("%d batches delivered, want %d", got, n)
		}
		return ""
	})
}

// waitEvents waits until r has n events.
func (r *recorder) waitEvents(t testing.TB, n int) {
	t.Helper()
	storetest.Eventually(t, 10*time.Second, func() string {
		if got := r.lines(); len(got) < n {
			return fmt.Sprintf("%d events delivered, want %d: %v", len(got), n, got)
		}
		return ""
	})
}

// lines prints events for comparison: id, type, space and status.
func lines(evs []occupancy.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", e.ID, e.Type, e.SpaceID, e.Status)))
	}
	return out
}

// byZone groups event lines by zone, each zone's in their order.
func byZone(ls []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range ls {
		id, _, _ := strings.Cut(l, " ")
		_, zone, _ := occupancy.SplitEventID(id)
		out[zone] = append(out[zone], l)
	}
	return out
}

// readAll reads the streams from c to their ends, as lines.
func readAll(t testing.TB, s *redisstore.Store, c *occupancy.EventCursor) []string {
	t.Helper()
	var out []string
	for {
		evs, _, err := s.ReadEvents(context.Background(), c, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, lines(evs)...)
	}
}

// flip applies readings from+1 to from+n of sensor, each a second after
// the last and each a change of its space's status (even ones occupied).
func flip(t testing.TB, s *redisstore.Store, sensor string, from, n int) {
	t.Helper()
	for i := from + 1; i <= from+n; i++ {
		r := storetest.Reading(sensor, i%2 == 0, storetest.T0.Add(time.Duration(i)*time.Second), uint64(i))
		storetest.MustApply(t, s, r, occupancy.ResultApplied)
	}
}

// logs is a slog handler that keeps the records' levels, messages and
// attributes, one line each.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }

func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "err" { // the error's text varies
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, b.String())
	return nil
}

func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

func (l *logs) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}
