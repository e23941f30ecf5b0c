package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// syncClock is a settable clock that the index's goroutine may read while
// the test sets it.
type syncClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *syncClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *syncClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// newClockedStore is newStore on a syncClock.
func newClockedStore(tb testing.TB, rdb redis.UniversalClient, clk *syncClock) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: testRegistry(tb),
		Now: clk.Now, OfflineAfter: 30 * time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// runIndex runs idx until the returned stop is called (or the test ends).
func runIndex(t *testing.T, idx *redisstore.FreeIndex) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); idx.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// waitStatus waits until the index holds status st for each of ids.
func waitStatus(t *testing.T, idx *redisstore.FreeIndex, st byte, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, id := range ids {
		for {
			got, ok := idx.StatusOf(id)
			if ok && got == st {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("index: space %s is %q (known %v), want %q; stats %+v", id, got, ok, st, idx.Stats())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// nearbyIDs asks idx for the free spaces within 2 km of zone A.
func nearbyIDs(t *testing.T, idx *redisstore.FreeIndex) []string {
	t.Helper()
	got, err := idx.Nearby(context.Background(), occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 2000, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, n := range got {
		ids = append(ids, n.Space.ID)
	}
	return ids
}

func wantIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: nearby %v, want %v", what, got, want)
	}
}

func TestFreeIndexFollowsAppliesSweepsAndClosures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		clk := &syncClock{now: t0}
		s := newClockedStore(t, rdb, clk)
		mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied) // before the index: from the snapshot
		idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond})
		runIndex(t, idx)
		waitStatus(t, idx, 'f', "A-1")
		waitStatus(t, idx, 'u', "A-2", "B-1")

		mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied)
		mustApply(t, s, reading("S1", true, t0.Add(time.Second), 2), occupancy.ResultApplied)
		waitStatus(t, idx, 'f', "A-2")
		waitStatus(t, idx, 'o', "A-1")
		wantIDs(t, "after applies", nearbyIDs(t, idx), "A-2")

		if _, err := s.CloseSpace(context.Background(), "A-2", occupancy.Closure{Reason: "works"}); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, idx, 'c', "A-2")
		wantIDs(t, "closed", nearbyIDs(t, idx))
		if err := s.OpenSpace(context.Background(), "A-2"); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, idx, 'f', "A-2")
		wantIDs(t, "reopened", nearbyIDs(t, idx), "A-2")

		clk.Set(t0.Add(31 * time.Minute))
		if n, err := s.Sweep(context.Background()); err != nil || n != 2 {
			t.Fatalf("sweep: %d, %v; want 2", n, err)
		}
		waitStatus(t, idx, 'u', "A-1", "A-2")
		wantIDs(t, "swept", nearbyIDs(t, idx))
		if st := idx.Stats(); st.FromIndex == 0 || st.FromRedis != 0 || !st.Synced {
			t.Errorf("stats %+v: want every query from the index", st)
		}
	})
}

func TestFreeIndexConfirmsWithRedisAndFallsBackWhenStale(t *testing.T) {
	clk := &syncClock{now: t0}
	s := newClockedStore(t, testenv.MustStartRedis(t).Client(t), clk)
	idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond, Confirm: true})
	if got := nearbyIDs(t, idx); len(got) != 0 || idx.Stats().FromRedis != 1 {
		t.Fatalf("before sync: nearby %v, stats %+v; want the Redis path", got, idx.Stats())
	}
	stop := runIndex(t, idx)
	mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
	mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied)
	waitStatus(t, idx, 'f', "A-1", "A-2")
	stop()

	// The index still holds A-1 free, and is fresh by the clock: Redis's
	// word decides.
	mustApply(t, s, reading("S1", true, t0.Add(time.Second), 2), occupancy.ResultApplied)
	wantIDs(t, "index behind", nearbyIDs(t, idx), "A-2")
	if st := idx.Stats(); st.FromRedis != 1 || st.FromIndex != 1 {
		t.Errorf("stats %+v: want the second query from the index", st)
	}

	// Not heard from Redis for longer than MaxLag: the Redis path.
	mustApply(t, s, reading("S3", false, t0.Add(time.Second), 2), occupancy.ResultApplied)
	clk.Set(t0.Add(3 * time.Second))
	wantIDs(t, "stale", nearbyIDs(t, idx), "A-2", "A-3")
	if st := idx.Stats(); st.FromRedis != 2 || st.Lag != 3*time.Second {
		t.Errorf("stats %+v: want the stale query from Redis, lag 3s", st)
	}
}

func TestFreeIndexResyncsAZoneTrimmedPastItsPosition(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		s := newStore(t, rdb, &clock{now: t0})
		idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond})
		stop := runIndex(t, idx)
		mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
		waitStatus(t, idx, 'f', "A-1")
		stop()

		// Events the index never reads: trimmed away while it was stopped.
		mustApply(t, s, reading("S1", true, t0.Add(time.Second), 2), occupancy.ResultApplied)
		mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied)
		if err := rdb.XTrimMaxLen(context.Background(), "pk:{A}:ev", 0).Err(); err != nil {
			t.Fatal(err)
		}
		mustApply(t, s, reading("S3", false, t0, 1), occupancy.ResultApplied)

		runIndex(t, idx)
		waitStatus(t, idx, 'o', "A-1")
		waitStatus(t, idx, 'f', "A-2", "A-3")
		if st := idx.Stats(); st.Gaps != 1 || st.Resyncs != 1 {
			t.Errorf("stats %+v: want one gap, one zone resynced", st)
		}
	})
}

func TestFreeIndexRebuildsOnRegistryReload(t *testing.T) {
	defer redisstore.SetRetireGrace(10 * time.Millisecond)()
	rdb := testenv.MustStartRedis(t).Client(t)
	s := newStore(t, rdb, &clock{now: t0})
	idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond})
	runIndex(t, idx)
	for _, sensor := range []string{"S1", "S2", "S3"} {
		mustApply(t, s, reading(sensor, false, t0, 1), occupancy.ResultApplied)
	}
	waitStatus(t, idx, 'f', "A-1", "A-2", "A-3")

	// Next: A-1 removed, A-2 moved 3.3 km away, A-9 added.
	cur := testRegistry(t)
	var spaces []occupancy.Space
	for _, sp := range cur.Spaces() {
		switch sp.ID {
		case "A-1":
			continue
		case "A-2":
			sp.Lat += 0.03
		}
		spaces = append(spaces, sp)
	}
	spaces = append(spaces, occupancy.Space{ID: "A-9", ZoneID: "A", SensorID: "S9", Lat: 29.8501, Lon: 121.64,
		Kind: occupancy.KindStandard})
	next, err := occupancy.NewRegistry(cur.Zones(), spaces)
	if err != nil {
		t.Fatal(err)
	}
	is := redisstore.IndexedStore{Store: s, Free: idx}
	if _, err := is.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, reading("S9", false, t0, 1), occupancy.ResultApplied)
	waitStatus(t, idx, 'f', "A-9", "A-3")
	if _, ok := idx.StatusOf("A-1"); ok {
		t.Error("A-1 is still in the index after the reload removed it")
	}
	wantIDs(t, "after reload", nearbyIDs(t, idx), "A-9", "A-3")
	if st := idx.Stats(); st.Rebuilds < 1 {
		t.Errorf("stats %+v: want a rebuild", st)
	}
}

// randomTown has zones of both types around Qiuai with random spaces.
func randomTown(t *testing.T, rng *rand.Rand) *occupancy.Registry {
	t.Helper()
	var zones []occupancy.Zone
	var spaces []occupancy.Space
	for z := range 6 {
		zone := occupancy.Zone{ID: fmt.Sprintf("Z%d", z), Name: "z", Type: occupancy.OnStreet,
			Lat: 29.845 + rng.Float64()*0.01, Lon: 121.635 + rng.Float64()*0.01}
		if z%2 == 1 {
			zone.Type = occupancy.OffStreet
		}
		zones = append(zones, zone)
		for i := range 50 + rng.IntN(150) {
			spaces = append(spaces, occupancy.Space{ID: fmt.Sprintf("%s-%03d", zone.ID, i), ZoneID: zone.ID,
				SensorID: fmt.Sprintf("S-%s-%d", zone.ID, i), Kind: occupancy.Kinds[rng.IntN(len(occupancy.Kinds))],
				Lat: zone.Lat + (rng.Float64()-0.5)*0.006, Lon: zone.Lon + (rng.Float64()-0.5)*0.006})
		}
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestFreeIndexAnswersAsTheRedisPath compares the index's answers with the
// Redis path's (GEORADIUS per zone and kind) on random towns, traffic and
// queries: the same spaces, order, distances and states.
func TestFreeIndexAnswersAsTheRedisPath(t *testing.T) {
	rdb := testenv.MustStartRedis(t).Client(t)
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			if err := rdb.FlushDB(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			reg := randomTown(t, rng)
			s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: (&clock{now: t0}).Now})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Init(context.Background()); err != nil {
				t.Fatal(err)
			}
			idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond})
			confirm := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond, Confirm: true})
			runIndex(t, idx)
			runIndex(t, confirm)
			for round := range 3 {
				for i, sp := range reg.Spaces() {
					if rng.IntN(3) > 0 {
						mustApply(t, s, reading(sp.SensorID, rng.IntN(2) == 0, t0.Add(time.Duration(round)*time.Second), uint64(i)), occupancy.ResultApplied)
					}
				}
				waitCaughtUp(t, s, idx, reg)
				waitCaughtUp(t, s, confirm, reg)
				compareNearby(t, rng, s, idx, confirm)
			}
		})
	}
}

// waitCaughtUp waits until the index holds every space's status as Redis does.
func waitCaughtUp(t *testing.T, s *redisstore.Store, idx *redisstore.FreeIndex, reg *occupancy.Registry) {
	t.Helper()
	states, err := s.States(context.Background(), reg.Spaces())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		waitStatus(t, idx, string(st.Status)[0], st.SpaceID)
	}
}

// compareNearby runs random queries on the Redis path and on both kinds of
// index: with Confirm the answers must be identical but for observed_at;
// from memory, a space's last_seen, sensor time and health may be older
// (a reading that keeps the status writes no event).
func compareNearby(t *testing.T, rng *rand.Rand, s *redisstore.Store, idx, confirm *redisstore.FreeIndex) {
	t.Helper()
	kinds := append([]occupancy.Kind{"", ""}, occupancy.Kinds...)
	types := []occupancy.ZoneType{"", "", occupancy.OnStreet, occupancy.OffStreet}
	for range 200 {
		q := occupancy.NearbyQuery{Lat: 29.843 + rng.Float64()*0.014, Lon: 121.633 + rng.Float64()*0.014,
			RadiusM: 20 + rng.Float64()*900, Limit: 1 + rng.IntN(30),
			Kind: kinds[rng.IntN(len(kinds))], ZoneType: types[rng.IntN(len(types))]}
		want, err := s.Nearby(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := confirm.Nearby(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := nearbyLines(got, true), nearbyLines(want, true); a != b {
			t.Fatalf("query %+v:\nconfirm %s\nredis   %s", q, a, b)
		}
		if got, err = idx.Nearby(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		if a, b := nearbyLines(got, false), nearbyLines(want, false); a != b {
			t.Fatalf("query %+v:\nindex %s\nredis %s", q, a, b)
		}
		for i := range got {
			if got[i].State.LastSeen.After(want[i].State.LastSeen) || got[i].ObservedAt.IsZero() {
				t.Fatalf("%s: last seen %s observed %s, redis last seen %s", got[i].Space.ID, got[i].State.LastSeen,
					got[i].ObservedAt, want[i].State.LastSeen)
			}
		}
		compareNearestFreeZones(t, q, 1+rng.IntN(5), s, idx, confirm)
	}
	for _, x := range []*redisstore.FreeIndex{idx, confirm} {
		if st := x.Stats(); st.FromRedis != 0 {
			t.Errorf("stats %+v: want every query from the index", st)
		}
	}
}

// compareNearestFreeZones asks the Redis path and both indexes for the
// n nearest zones with free spaces of q's kind and zone type: the indexes
// count from memory and must give the same zones, distances and counts.
func compareNearestFreeZones(t *testing.T, q occupancy.NearbyQuery, n int, s *redisstore.Store, idx ...*redisstore.FreeIndex) {
	t.Helper()
	want, err := s.NearestFreeZones(context.Background(), q, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range idx {
		got, err := x.NearestFreeZones(context.Background(), q, n)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := fmt.Sprint(got), fmt.Sprint(want); a != b {
			t.Fatalf("nearest free zones, query %+v, n %d:\nindex %s\nredis %s", q, n, a, b)
		}
	}
}

// nearbyLines prints answers for comparison: id, distance, status and
// since, and with all the rest of the state.
func nearbyLines(ns []occupancy.NearbySpace, all bool) string {
	var b strings.Builder
	for _, n := range ns {
		fmt.Fprintf(&b, "%s %v %s %s", n.Space.ID, n.DistanceM, n.State.Status, n.State.Since)
		if all {
			fmt.Fprintf(&b, " %+v", n.State)
		}
		b.WriteString("; ")
	}
	return b.String()
}

// TestFreeIndexOnRedisCluster: the zones' streams are on different masters,
// so the index syncs each zone in its own MULTI and polls them with a
// pipeline of per-zone XREADs; it must follow changes in every zone.
func TestFreeIndexOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node Redis Cluster")
	}
	_, rdb := startCluster(t)
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: clusterRegistry(t), Now: (&clock{now: t0}).Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, reading("S7", false, t0, 1), occupancy.ResultApplied) // C-1, before the index
	idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond})
	runIndex(t, idx)
	waitStatus(t, idx, 'f', "C-1")
	for _, sensor := range []string{"S1", "S5", "S8"} { // A-1, B-1, D-1: every master
		mustApply(t, s, reading(sensor, false, t0, 1), occupancy.ResultApplied)
	}
	mustApply(t, s, reading("S7", true, t0.Add(time.Second), 2), occupancy.ResultApplied)
	waitStatus(t, idx, 'f', "A-1", "B-1", "D-1")
	waitStatus(t, idx, 'o', "C-1")
	wantIDs(t, "cluster", nearbyIDs(t, idx), "A-1", "D-1", "B-1")
}

// TestIndexedStoreClosuresReadYourWrites: a closure made through the
// IndexedStore is in the index when the call returns, before its event.
func TestIndexedStoreClosuresReadYourWrites(t *testing.T) {
	s := newStore(t, testenv.MustStartRedis(t).Client(t), &clock{now: t0})
	idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond})
	stop := runIndex(t, idx)
	mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
	mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied)
	waitStatus(t, idx, 'f', "A-1", "A-2")
	stop() // no events read from here on

	is := redisstore.IndexedStore{Store: s, Free: idx}
	ctx := context.Background()
	if _, err := is.CloseSpace(ctx, "A-1", occupancy.Closure{Reason: "works"}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "A-1 closed", nearbyIDs(t, idx), "A-2")
	if _, err := is.CloseZone(ctx, "A", occupancy.Closure{Reason: "market"}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "zone A closed", nearbyIDs(t, idx))
	if err := is.OpenZone(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "zone A open, A-1 still closed", nearbyIDs(t, idx), "A-2")
	if err := is.OpenSpace(ctx, "A-1"); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "all open", nearbyIDs(t, idx), "A-1", "A-2")
}
