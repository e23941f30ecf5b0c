package feed_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// TestTailerDeliversEveryEventOnceInOrder: two zones change at once; every
// sink gets every event exactly once, each zone's in its order, in the same
// batches as the other sinks.
func TestTailerDeliversEveryEventOnceInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, poll bool) {
		ctx := context.Background()
		s := storetest.NewStore(t, rdb, storetest.Registry(t), storetest.NewClock(storetest.T0).Now)
		a, b := &recorder{}, &recorder{}
		runTailer(t, feed.TailerOptions{Source: s, Sinks: []feed.Sink{a, b}, Poll: poll, Zones: 2})
		a.waitBatches(t, 1) // the tailer reads
		ref, err := s.EventsNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, sensor := range []string{"S1", "S5"} { // zones A and B
			wg.Go(func() { flip(t, s, sensor, 0, 30) })
		}
		wg.Wait()
		want := readAll(t, s, ref)
		if len(want) != 2*2*30 { // each change: the space's event and the zone's
			t.Fatalf("the streams hold %d events, want 120", len(want))
		}
		a.waitEvents(t, len(want))
		b.waitEvents(t, len(want))
		for name, r := range map[string]*recorder{"a": a, "b": b} {
			got := r.lines()
			if len(got) != len(want) {
				t.Errorf("sink %s got %d events, want %d", name, len(got), len(want))
			}
			if g, w := byZone(got), byZone(want); fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("sink %s, by zone:\n%v\nwant\n%v", name, g, w)
			}
		}
		if ab, bb := a.got(), b.got(); fmt.Sprint(ab) != fmt.Sprint(bb) {
			t.Errorf("the sinks got different batches:\n%v\n%v", ab, bb)
		}
		var last time.Time
		for _, batch := range a.got() {
			if batch.ReadAt.Before(last) || batch.ReadAt.IsZero() {
				t.Fatalf("batch read at %s after one read at %s", batch.ReadAt, last)
			}
			last = batch.ReadAt
		}
	})
}

// TestTailerReportsAGapWhenAZoneIsTrimmedPastIt: while a sink holds the
// tailer, zone A gets more changes than its stream keeps (1000 entries for
// a small zone); the tailer's next read reports A as a gap, then delivers
// what the stream still holds, in order.
func TestTailerReportsAGapWhenAZoneIsTrimmedPastIt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, poll bool) {
		s := storetest.NewStore(t, rdb, storetest.Registry(t), storetest.NewClock(storetest.T0).Now)
		rec, g := &recorder{}, storetest.NewGate()
		runTailer(t, feed.TailerOptions{Source: s, Sinks: []feed.Sink{rec, g}, Poll: poll, Zones: 2})
		rec.waitBatches(t, 1) // the tailer reads
		flip(t, s, "S1", 0, 1)
		rec.waitEvents(t, 2)
		seen := len(rec.got())

		g.Hold(t)
		first := readAll(t, s, occupancy.NewEventCursor(occupancy.StartPosition))[0]
		flip(t, s, "S2", 0, 1500)
		flip(t, s, "S5", 0, 1) // zone B: no gap
		now := readAll(t, s, occupancy.NewEventCursor(occupancy.StartPosition))
		if now[0] == first || len(now) > 2*1200 {
			t.Fatalf("zone A's stream starts at %s (before: %s) and holds %d events: not trimmed past the tailer", now[0], first, len(now))
		}
		g.Open()

		rec.waitEvents(t, 2+len(now))
		var gaps []string
		for _, b := range rec.got()[seen:] {
			gaps = append(gaps, b.Gaps...)
		}
		if !slices.Equal(gaps, []string{"A"}) {
			t.Errorf("gaps %v, want [A] once", gaps)
		}
		got := rec.lines()[2:]
		if g, w := byZone(got), byZone(now); fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("after the gap, by zone: %d events, want the %d the streams hold", len(got), len(now))
		}
	})
}

// TestTailerStopsWhenItsContextEnds: Run returns nil soon after its
// context ends, whether it is reading or backing off after failures.
func TestTailerStopsWhenItsContextEnds(t *testing.T) {
	s := storetest.NewStore(t, storetest.Backends[0].Start(t), storetest.Registry(t), storetest.NewClock(storetest.T0).Now)
	for _, tc := range []struct {
		name string
		src  feed.Source
		wait func(*testing.T, *recorder, *logs)
	}{
		{"reading", s, func(t *testing.T, r *recorder, _ *logs) { r.waitBatches(t, 1) }},
		{"backing off", failing{}, func(t *testing.T, _ *recorder, l *logs) {
			storetest.Eventually(t, 10*time.Second, func() string {
				if len(l.got()) == 0 {
					return "no failure logged"
				}
				return ""
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, l := &recorder{}, &logs{}
			tl := feed.NewTailer(feed.TailerOptions{Source: tc.src, Sinks: []feed.Sink{rec}, Block: 500 * time.Millisecond,
				Logger: slog.New(l)})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tl.Run(ctx) }()
			tc.wait(t, rec, l)
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run still running 10s after its context ended")
			}
		})
	}
}

// failing is a Source whose every call fails.
type failing struct{}

var errDown = errors.New("redis down")

func (failing) EventsNow(context.Context) (*occupancy.EventCursor, error) { return nil, errDown }
func (failing) ReadEvents(context.Context, *occupancy.EventCursor, int64, time.Duration) ([]occupancy.Event, []string, error) {
	return nil, nil, errDown
}
func (failing) TrimmedZones(context.Context, *occupancy.EventCursor) ([]string, error) {
	return nil, errDown
}
func (failing) CanBlock() bool { return true }

func TestShareCount(t *testing.T) {
	for _, tc := range []struct {
		total, zones int
		perStream    int64
		want         int64
	}{
		{20000, 30, 1000, 666},  // Qiuai: the default 20 000 shared by 30 zones
		{20000, 2860, 1000, 6},  // a city of a million spaces
		{20000, 1, 1000, 1000},  // never more than PerZone a stream
		{20000, 0, 1000, 1000},  // no zones yet
		{20000, 50000, 1000, 1}, // at least 1
		{3, 6, 1000, 1},         // a read of one entry a zone
		{5000, 2, 1000, 1000},   // capped
		{5000, 10, 1000, 500},   // shared
		{5000, 2, 100, 100},     // capped by a smaller PerZone
	} {
		if got := feed.ShareCount(tc.total, tc.perStream, tc.zones); got != tc.want {
			t.Errorf("ShareCount(%d, %d, %d zones) = %d, want %d", tc.total, tc.perStream, tc.zones, got, tc.want)
		}
	}
}

func ExampleShareCount() {
	// The defaults (MaxRead 20 000, PerZone 1000) for Qiuai's 30 zones and
	// for a city of 2 860.
	fmt.Println(feed.ShareCount(20000, 1000, 30), feed.ShareCount(20000, 1000, 2860))
	// Output: 666 6
}

// idleSource is a Source with nothing to read that counts its gap checks.
type idleSource struct {
	mu     sync.Mutex
	checks int
}

func (*idleSource) EventsNow(context.Context) (*occupancy.EventCursor, error) {
	return occupancy.NewEventCursor(occupancy.StartPosition), nil
}

func (*idleSource) ReadEvents(context.Context, *occupancy.EventCursor, int64, time.Duration) ([]occupancy.Event, []string, error) {
	return nil, nil, nil
}

func (s *idleSource) TrimmedZones(context.Context, *occupancy.EventCursor) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks++
	return []string{"A"}, nil
}

func (*idleSource) CanBlock() bool { return false }

// TestTailerChecksEveryZoneAfterAStall: a read more than a minute after the
// last one (its sinks held it, or the process was paused) has every zone
// checked for a gap, as after an outage, and reports what the check found;
// reads in quick succession check nothing.
func TestTailerChecksEveryZoneAfterAStall(t *testing.T) {
	clk := storetest.NewClock(storetest.T0)
	src, rec := &idleSource{}, &recorder{}
	runTailer(t, feed.TailerOptions{Source: src, Sinks: []feed.Sink{rec}, Now: clk.Now})
	rec.waitBatches(t, 3)
	src.mu.Lock()
	if src.checks != 0 {
		t.Errorf("%d gap checks while reading in quick succession, want 0", src.checks)
	}
	src.mu.Unlock()
	clk.Add(2 * time.Minute)
	storetest.Eventually(t, 5*time.Second, func() string {
		for _, b := range rec.got() {
			if slices.Equal(b.Gaps, []string{"A"}) {
				return ""
			}
		}
		return "no batch reports the gap the check found"
	})
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.checks != 1 {
		t.Errorf("%d gap checks after one stall, want 1", src.checks)
	}
}
