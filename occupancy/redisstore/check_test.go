package redisstore_test

import (
	"context"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// checkFixture applies readings so that zone A has A-1 free, A-2 occupied,
// A-3 unknown (never heard), A-4 (accessible) free, and zone B has B-1
// occupied and B-2 (ev) free.
func checkFixture(t *testing.T, rdb redis.UniversalClient) *redisstore.Store {
	t.Helper()
	rdb.FlushDB(context.Background())
	clk := &clock{now: t0.Add(time.Minute)}
	s := newStore(t, rdb, clk)
	for _, r := range []occupancy.Reading{reading("S1", false, t0, 1), reading("S2", true, t0, 1),
		reading("S4", false, t0, 1), reading("S5", true, t0, 1), reading("S6", false, t0, 1)} {
		mustApply(t, s, r, occupancy.ResultApplied)
	}
	return s
}

// driftKey names a drift item in the tests' expectations.
type driftKey struct{ zone, kind, what string }

func driftKeys(rep occupancy.CheckReport) []driftKey {
	var out []driftKey
	for _, d := range rep.Drift {
		out = append(out, driftKey{d.Zone, d.Kind, d.What})
	}
	return out
}

func TestCheckFindsAndRepairsDrift(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(ctx context.Context, rdb redis.UniversalClient)
		want    []driftKey // sorted by zone, kind, what
		// repaired is what the repair run reports, when not want: deleting
		// an orphan state first takes it out of the counters.
		repaired []driftKey
	}{
		{"counters off", func(ctx context.Context, rdb redis.UniversalClient) {
			rdb.HIncrBy(ctx, "pk:{A}:c", "free", 3)
			rdb.HSet(ctx, "pk:{B}:c", "total", 99)
			rdb.HDel(ctx, "pk:{B}:c", "occupied")
		}, []driftKey{{"A", "counter", "free"}, {"B", "counter", "occupied"}, {"B", "counter", "total"}}, nil},
		{"free space missing from its geo set", func(ctx context.Context, rdb redis.UniversalClient) {
			rdb.ZRem(ctx, "pk:{A}:free:standard", "A-1")
		}, []driftKey{{"A", "free_set", "A-1"}}, nil},
		{"occupied space in a geo set", func(ctx context.Context, rdb redis.UniversalClient) {
			rdb.GeoAdd(ctx, "pk:{A}:free:standard", &redis.GeoLocation{Name: "A-2", Longitude: 121.64, Latitude: 29.85})
		}, []driftKey{{"A", "free_set", "A-2"}}, nil},
		{"free space in another kind's geo set", func(ctx context.Context, rdb redis.UniversalClient) {
			rdb.ZRem(ctx, "pk:{B}:free:ev", "B-2")
			rdb.GeoAdd(ctx, "pk:{B}:free:standard", &redis.GeoLocation{Name: "B-2", Longitude: 121.64, Latitude: 29.859})
		}, []driftKey{{"B", "free_set", "B-2"}, {"B", "free_set", "B-2"}}, nil},
		{"free space at the wrong point", func(ctx context.Context, rdb redis.UniversalClient) {
			rdb.GeoAdd(ctx, "pk:{A}:free:standard", &redis.GeoLocation{Name: "A-1", Longitude: 121.65, Latitude: 29.85})
		}, []driftKey{{"A", "free_set_position", "A-1"}}, nil},
		{"registry space without a state", func(ctx context.Context, rdb redis.UniversalClient) {
			rdb.HDel(ctx, "pk:{A}:s", "A-3")
			rdb.HIncrBy(ctx, "pk:{A}:c", "unknown", -1)
			rdb.HIncrBy(ctx, "pk:{A}:c", "total", -1)
		}, []driftKey{{"A", "counter", "total"}, {"A", "counter", "unknown"}, {"A", "missing_state", "A-3"}}, nil},
		{"state of a space not in the registry, as a reload left it", func(ctx context.Context, rdb redis.UniversalClient) {
			rdb.HSet(ctx, "pk:{A}:s", "A-9", "f|0|1|1|1|1|")
			rdb.HIncrBy(ctx, "pk:{A}:c", "free", 1)
			rdb.HIncrBy(ctx, "pk:{A}:c", "total", 1)
			rdb.GeoAdd(ctx, "pk:{A}:free:standard", &redis.GeoLocation{Name: "A-9", Longitude: 121.64, Latitude: 29.85})
		}, []driftKey{{"A", "counter", "free"}, {"A", "counter", "total"}, {"A", "free_set", "A-9"}, {"A", "unregistered_state", "A-9"}},
			[]driftKey{{"A", "free_set", "A-9"}, {"A", "unregistered_state", "A-9"}}},
		{"closure and incidents of a space not in the registry", func(ctx context.Context, rdb redis.UniversalClient) {
			rdb.HSet(ctx, "pk:{B}:closures", "B-9", `{"reason":"works"}`)
			rdb.ZAdd(ctx, "pk:{B}:until", redis.Z{Score: 1, Member: "B-9"})
			rdb.HSet(ctx, "pk:{B}:inc", "offline.B-9.1", `{"id":"offline.B-9.1","type":"offline","space_id":"B-9","zone_id":"B","status":"open"}`)
			rdb.HSet(ctx, "pk:{B}:inc:active", "offline|B-9", "offline.B-9.1")
		}, []driftKey{{"B", "unregistered_closure", "B-9"}, {"B", "unregistered_incident", "offline.B-9.1"},
			{"B", "unregistered_incident", "offline|B-9"}}, nil},
	}
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				s := checkFixture(t, rdb)
				if rep, err := s.Check(ctx, false); err != nil || len(rep.Drift) != 0 {
					t.Fatalf("clean fixture: %+v, %v; want no drift", rep.Drift, err)
				}
				tc.corrupt(ctx, rdb)
				rep, err := s.Check(ctx, false)
				if err != nil {
					t.Fatal(err)
				}
				if got := driftKeys(rep); !slices.Equal(got, tc.want) {
					t.Fatalf("drift %+v\nwant %v", rep.Drift, tc.want)
				}
				if rep.Zones != 2 || rep.Spaces != 6 || rep.Repaired || rep.Unfixed() != len(tc.want) {
					t.Fatalf("report %+v: want 2 zones, 6 spaces, not repaired, all unfixed", rep)
				}
				rep, err = s.Check(ctx, true)
				if tc.repaired == nil {
					tc.repaired = tc.want
				}
				if err != nil || !slices.Equal(driftKeys(rep), tc.repaired) || !rep.Repaired {
					t.Fatalf("repair run: %+v, %v", rep, err)
				}
				rep, err = s.Check(ctx, false)
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Drift) != 0 {
					t.Fatalf("after repair: %+v; want no drift", rep.Drift)
				}
				checkCounters(t, s, testRegistry(t))
				assertNearbyFree(t, s, []string{"A-1", "A-4"})
			})
		}
	})
}

// assertNearbyFree asserts that the free spaces of zone A found by Nearby
// are exactly want.
func assertNearbyFree(t *testing.T, s *redisstore.Store, want []string) {
	t.Helper()
	got, err := s.Nearby(context.Background(), occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 100, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range got {
		ids = append(ids, n.Space.ID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("nearby free in zone A: %v, want %v", ids, want)
	}
}

func TestCheckRepairRestoresSweeperAndNearby(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	ctx := context.Background()
	s := checkFixture(t, rdb)
	rdb.ZRem(ctx, "pk:{A}:free:standard", "A-1")
	assertNearbyFree(t, s, []string{"A-4"})
	if _, err := s.Check(ctx, true); err != nil {
		t.Fatal(err)
	}
	assertNearbyFree(t, s, []string{"A-1", "A-4"})
	// The sweeper finds A-1 again once it is silent.
	s2, _ := redisstore.New(redisstore.Options{Client: rdb, Registry: testRegistry(t),
		Now: (&clock{now: t0.Add(time.Hour)}).Now, OfflineAfter: 30 * time.Minute})
	if n, err := s2.Sweep(ctx); err != nil || n != 5 {
		t.Fatalf("sweep after repair marked %d, %v; want all 5 heard spaces", n, err)
	}
	if rep, _ := s.Check(ctx, false); len(rep.Drift) != 0 {
		t.Fatalf("drift after sweep: %+v", rep.Drift)
	}
}

func TestCheckFindsNoDriftAfterRandomTraffic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0}
		reg := testRegistry(t)
		s := newStore(t, rdb, clk)
		rng := rand.New(rand.NewSource(7))
		var all []occupancy.Reading
		for _, sp := range reg.Spaces() {
			for seq := uint64(1); seq <= 40; seq++ {
				r := reading(sp.SensorID, rng.Intn(2) == 0, t0.Add(time.Duration(seq)*time.Minute), seq)
				all = append(all, r, r)
			}
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for i, r := range all {
			if i%50 == 0 { // silence now and then: the sweeper marks spaces unknown
				clk.now = clk.now.Add(time.Duration(rng.Intn(40)) * time.Minute)
				if _, err := s.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Apply(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := s.Check(ctx, false)
		if err != nil || len(rep.Drift) != 0 || rep.Spaces != len(reg.Spaces()) {
			t.Fatalf("check after random traffic: %+v, %v; want no drift over %d spaces", rep, err, len(reg.Spaces()))
		}
	})
}

// TestCheckWhileWritingFindsNoDrift runs checks while writers and a sweeper
// change the zones: each zone is checked atomically, so a check never sees
// a half-applied reading and never reports drift that is not there.
func TestCheckWhileWritingFindsNoDrift(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	clk := &clock{now: t0.Add(24 * time.Hour)} // read only below: the clock never moves
	reg := testRegistry(t)
	s := newStore(t, rdb, clk)
	// A sweeper an hour later: every space heard is silent to it.
	sweeper := newStore(t, rdb, &clock{now: clk.now.Add(time.Hour)})
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			rng := rand.New(rand.NewSource(int64(w)))
			for seq := uint64(1); ctx.Err() == nil; seq++ {
				sp := reg.Spaces()[rng.Intn(len(reg.Spaces()))]
				ts := t0.Add(time.Duration(rng.Intn(3600)) * time.Second)
				if _, err := s.Apply(ctx, reading(sp.SensorID, rng.Intn(2) == 0, ts, seq)); err != nil && ctx.Err() == nil {
					t.Error(err)
				}
				if seq%20 == 0 && w == 0 {
					_, _ = sweeper.Sweep(ctx)
				}
			}
		}()
	}
	checks := 0
	for ; ctx.Err() == nil; checks++ {
		rep, err := s.Check(ctx, false)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			t.Fatal(err)
		}
		if len(rep.Drift) != 0 {
			t.Fatalf("check %d under writes: %+v", checks, rep.Drift)
		}
	}
	for range 4 {
		<-done
	}
	if checks < 10 {
		t.Fatalf("only %d checks ran", checks)
	}
}
