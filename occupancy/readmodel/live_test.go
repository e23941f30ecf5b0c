package readmodel_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/readmodel"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// The integration tests run the model over a real store, fed by a real
// feed.Tailer, as parkd wires them.

// forEachBackend is storetest.ForEachBackend with how parkd's feed reads
// each backend: blocking on a redis-server, polling on miniredis (whose
// blocking reads stall the scripts).
func forEachBackend(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient, poll bool)) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Start(t), b.Name == "miniredis") })
	}
}

// follow runs a Tailer over s, on clk, that feeds the sinks until the
// returned stop is called or the test ends. Unless opts says otherwise,
// reads block 100 ms (so a stop is quick) and pause 1 ms.
func follow(t testing.TB, s *redisstore.Store, clk *storetest.Clock, opts feed.TailerOptions, sinks ...feed.Sink) (stop func()) {
	t.Helper()
	opts.Source, opts.Sinks, opts.Now = s, sinks, clk.Now
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
			if err := <-done; err != nil {
				t.Errorf("tailer: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// newModel returns a model of s's registry on clk.
func newModel(s *redisstore.Store, reg *occupancy.Registry, clk *storetest.Clock, opts readmodel.Options) *readmodel.Model {
	opts.Store, opts.Registry, opts.Now = s, reg, clk.Now
	return readmodel.New(opts)
}

// waitStatus waits until the model holds status st for each of ids, having
// heard from the store at the clock's time.
func waitStatus(t testing.TB, m *readmodel.Model, st byte, ids ...string) {
	t.Helper()
	storetest.Eventually(t, 10*time.Second, func() string {
		for _, id := range ids {
			if got, ok := m.StatusOf(id); !ok || got != st {
				return fmt.Sprintf("space %s is %q (known %v), want %q; stats %+v", id, got, ok, st, m.Stats())
			}
		}
		if lag := m.Stats().Lag; lag > 0 {
			return fmt.Sprintf("the model last heard from the store %s ago", lag)
		}
		return ""
	})
}

// nearbyIDs asks m for the free spaces within 2 km of zone A.
func nearbyIDs(t testing.TB, m *readmodel.Model) string {
	t.Helper()
	got, err := m.Nearby(context.Background(), occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 2000, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(ids(got))
}

func wantNearby(t testing.TB, what string, m *readmodel.Model, want string) {
	t.Helper()
	if got := nearbyIDs(t, m); got != want {
		t.Errorf("%s: nearby %s, want %s", what, got, want)
	}
}

func TestModelFollowsAppliesSweepsAndClosures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, poll bool) {
		ctx, t0 := context.Background(), storetest.T0
		clk, reg := storetest.NewClock(t0), storetest.Registry(t)
		s := storetest.NewStore(t, rdb, reg, clk.Now)
		storetest.MustApply(t, s, storetest.Reading("S1", false, t0, 1), occupancy.ResultApplied) // before the model: from the snapshot
		m := newModel(s, reg, clk, readmodel.Options{})
		follow(t, s, clk, feed.TailerOptions{Poll: poll}, m)
		waitStatus(t, m, 'f', "A-1")
		waitStatus(t, m, 'u', "A-2", "B-1")

		storetest.MustApply(t, s, storetest.Reading("S2", false, t0, 1), occupancy.ResultApplied)
		storetest.MustApply(t, s, storetest.Reading("S1", true, t0.Add(time.Second), 2), occupancy.ResultApplied)
		waitStatus(t, m, 'f', "A-2")
		waitStatus(t, m, 'o', "A-1")
		wantNearby(t, "after applies", m, "[A-2]")

		if _, err := s.CloseSpace(ctx, "A-2", occupancy.Closure{Reason: "works"}); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, m, 'c', "A-2")
		wantNearby(t, "closed", m, "[]")
		if err := s.OpenSpace(ctx, "A-2"); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, m, 'f', "A-2")
		wantNearby(t, "reopened", m, "[A-2]")

		clk.Set(t0.Add(31 * time.Minute))
		if n, err := s.Sweep(ctx); err != nil || n != 2 {
			t.Fatalf("sweep: %d, %v; want 2", n, err)
		}
		waitStatus(t, m, 'u', "A-1", "A-2")
		wantNearby(t, "swept", m, "[]")
		if st := m.Stats(); st.FromIndex == 0 || st.FromStore != 0 || !st.Synced {
			t.Errorf("stats %+v: want every query from memory", st)
		}
	})
}

func TestModelConfirmsWithTheStoreAndFallsBackWhenStale(t *testing.T) {
	t0 := storetest.T0
	clk, reg := storetest.NewClock(t0), storetest.Registry(t)
	s := storetest.NewStore(t, storetest.Backends[0].Start(t), reg, clk.Now)
	m := newModel(s, reg, clk, readmodel.Options{Confirm: true})
	if got := nearbyIDs(t, m); got != "[]" || m.Stats().FromStore != 1 {
		t.Fatalf("before the first batch: nearby %s, stats %+v; want the store's answer", got, m.Stats())
	}
	stop := follow(t, s, clk, feed.TailerOptions{}, m)
	storetest.MustApply(t, s, storetest.Reading("S1", false, t0, 1), occupancy.ResultApplied)
	storetest.MustApply(t, s, storetest.Reading("S2", false, t0, 1), occupancy.ResultApplied)
	waitStatus(t, m, 'f', "A-1", "A-2")
	stop()

	// The model still holds A-1 free and is fresh by the clock: the
	// store's word decides.
	storetest.MustApply(t, s, storetest.Reading("S1", true, t0.Add(time.Second), 2), occupancy.ResultApplied)
	wantNearby(t, "model behind", m, "[A-2]")
	if st := m.Stats(); st.FromStore != 1 || st.FromIndex != 1 {
		t.Errorf("stats %+v: want the second query from memory", st)
	}

	// Not heard from the store for longer than MaxLag: the store answers.
	storetest.MustApply(t, s, storetest.Reading("S3", false, t0.Add(time.Second), 2), occupancy.ResultApplied)
	clk.Set(t0.Add(3 * time.Second))
	wantNearby(t, "stale", m, "[A-2 A-3]")
	if st := m.Stats(); st.FromStore != 2 || st.Lag != 3*time.Second {
		t.Errorf("stats %+v: want the stale query from the store, lag 3s", st)
	}
}

// TestModelResyncsAZoneTrimmedPastItsPosition: events the feed never reads
// (trimmed while it was held) are repaired by reading their zone whole.
func TestModelResyncsAZoneTrimmedPastItsPosition(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, poll bool) {
		ctx, t0 := context.Background(), storetest.T0
		clk, reg := storetest.NewClock(t0), storetest.Registry(t)
		s := storetest.NewStore(t, rdb, reg, clk.Now)
		m, g := newModel(s, reg, clk, readmodel.Options{}), storetest.NewGate()
		// PerZone 1: every read that finds an entry is checked for a gap.
		follow(t, s, clk, feed.TailerOptions{Poll: poll, PerZone: 1}, m, g)
		storetest.MustApply(t, s, storetest.Reading("S1", false, t0, 1), occupancy.ResultApplied)
		waitStatus(t, m, 'f', "A-1")

		g.Hold(t)
		storetest.MustApply(t, s, storetest.Reading("S1", true, t0.Add(time.Second), 2), occupancy.ResultApplied)
		storetest.MustApply(t, s, storetest.Reading("S2", false, t0, 1), occupancy.ResultApplied)
		if err := rdb.XTrimMaxLen(ctx, "pk:{A}:ev", 0).Err(); err != nil {
			t.Fatal(err)
		}
		storetest.MustApply(t, s, storetest.Reading("S3", false, t0, 1), occupancy.ResultApplied)
		g.Open()

		waitStatus(t, m, 'o', "A-1")
		waitStatus(t, m, 'f', "A-2", "A-3")
		if st := m.Stats(); st.Gaps != 1 || st.Resyncs != 1 {
			t.Errorf("stats %+v: want one gap, one zone resynced", st)
		}
	})
}

// TestModelRebuildsOnRegistryReload: a reload that calls Rebuild when done
// (as parkd's does) has the model follow the new registry.
func TestModelRebuildsOnRegistryReload(t *testing.T) {
	t0 := storetest.T0
	clk, reg := storetest.NewClock(t0), storetest.Registry(t)
	s, err := redisstore.New(redisstore.Options{Client: storetest.Backends[0].Start(t), Registry: reg, Now: clk.Now,
		OfflineAfter: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := newModel(s, reg, clk, readmodel.Options{})
	follow(t, s, clk, feed.TailerOptions{}, m)
	for _, sensor := range []string{"S1", "S2", "S3"} {
		storetest.MustApply(t, s, storetest.Reading(sensor, false, t0, 1), occupancy.ResultApplied)
	}
	waitStatus(t, m, 'f', "A-1", "A-2", "A-3")

	rl := storetest.Reloader(t, s, reg, func(o *jobs.ReloaderOptions) { o.Reloaded = m.Rebuild })
	storetest.Reload(t, rl, reloaded(t, reg))
	storetest.MustApply(t, s, storetest.Reading("S9", false, t0, 1), occupancy.ResultApplied)
	waitStatus(t, m, 'f', "A-9", "A-3")
	if _, ok := m.StatusOf("A-1"); ok {
		t.Error("A-1 is still in the model after the reload removed it")
	}
	wantNearby(t, "after reload", m, "[A-9 A-3]")
	if st := m.Stats(); st.Rebuilds < 1 {
		t.Errorf("stats %+v: want a rebuild", st)
	}
}

// TestModelRefreshGivesClosuresReadYourWrites: a closure followed by
// Refresh (as parkd's closures do) is in the model before its events.
func TestModelRefreshGivesClosuresReadYourWrites(t *testing.T) {
	ctx, t0 := context.Background(), storetest.T0
	clk, reg := storetest.NewClock(t0), storetest.Registry(t)
	s := storetest.NewStore(t, storetest.Backends[0].Start(t), reg, clk.Now)
	m := newModel(s, reg, clk, readmodel.Options{})
	stop := follow(t, s, clk, feed.TailerOptions{}, m)
	storetest.MustApply(t, s, storetest.Reading("S1", false, t0, 1), occupancy.ResultApplied)
	storetest.MustApply(t, s, storetest.Reading("S2", false, t0, 1), occupancy.ResultApplied)
	waitStatus(t, m, 'f', "A-1", "A-2")
	stop() // no events read from here on

	zoneA := []string{"A-1", "A-2", "A-3", "A-4"}
	for _, step := range []struct {
		name   string
		change func() error
		ids    []string
		want   string
	}{
		{"A-1 closed", func() error { _, err := s.CloseSpace(ctx, "A-1", occupancy.Closure{Reason: "works"}); return err },
			[]string{"A-1"}, "[A-2]"},
		{"zone A closed", func() error { _, err := s.CloseZone(ctx, "A", occupancy.Closure{Reason: "market"}); return err },
			zoneA, "[]"},
		{"zone A open, A-1 still closed", func() error { return s.OpenZone(ctx, "A") }, zoneA, "[A-2]"},
		{"all open", func() error { return s.OpenSpace(ctx, "A-1") }, []string{"A-1"}, "[A-1 A-2]"},
	} {
		if err := step.change(); err != nil {
			t.Fatal(err)
		}
		m.Refresh(ctx, step.ids)
		wantNearby(t, step.name, m, step.want)
	}
}
