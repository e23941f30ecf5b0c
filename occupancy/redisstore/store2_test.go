package redisstore_test

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

func TestInitKeepsStateAndCountsNewSpaces(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		reg := testRegistry(t)
		if c := checkCounters(t, s, reg); c["A"].Total != 4 || c["A"].Unknown != 4 || c["B"].Total != 2 {
			t.Fatalf("after init: %+v, want A 4 unknown of 4, B total 2", c)
		}
		mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied)
		s2 := newStore(t, rdb, clk) // a second instance, or a restart
		got, _ := s2.Space(context.Background(), "A-1")
		if got.Status != occupancy.StatusOccupied {
			t.Fatalf("init on restart reset A-1 to %s", got.Status)
		}
		if c := checkCounters(t, s2, reg); c["A"].Total != 4 || c["A"].Occupied != 1 {
			t.Fatalf("counters after second init: %+v", c["A"])
		}
	})
}

func TestSweepMarksSilentSpacesUnknown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		reg := testRegistry(t)
		mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied) // seen at t0
		clk.now = t0.Add(20 * time.Minute)
		mustApply(t, s, reading("S2", true, clk.now, 1), occupancy.ResultApplied) // seen at t0+20m

		clk.now = t0.Add(30 * time.Minute) // exactly the limit for S1: still fine
		if n, err := s.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep at the limit: %d, %v; want 0", n, err)
		}
		clk.now = t0.Add(31 * time.Minute)
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep past the limit: %d, %v; want 1", n, err)
		}
		a1, _ := s.Space(ctx, "A-1")
		if a1.Status != occupancy.StatusUnknown || !a1.Since.Equal(clk.now) {
			t.Fatalf("A-1 after sweep: %s since %s", a1.Status, a1.Since)
		}
		if n, _ := s.Sweep(ctx); n != 0 {
			t.Fatalf("a second sweep marked %d again", n)
		}
		near, err := s.Nearby(ctx, occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 100, Limit: 10})
		if err != nil || len(near) != 0 {
			t.Fatalf("an unknown space is still offered as free nearby: %v %v", near, err)
		}
		checkCounters(t, s, reg)

		// A stale reading does not revive it; a newer one does.
		mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultDuplicate)
		mustApply(t, s, reading("S1", true, clk.now, 2), occupancy.ResultApplied)
		a1, _ = s.Space(ctx, "A-1")
		if a1.Status != occupancy.StatusOccupied {
			t.Fatalf("A-1 after a new reading: %s", a1.Status)
		}
		checkCounters(t, s, reg)
	})
}

func TestConcurrentSweepersAndWriters(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	ctx := context.Background()
	clk := &clock{now: t0.Add(time.Hour)}
	reg := testRegistry(t)
	s := newStore(t, rdb, clk)
	for i, sp := range reg.Spaces() {
		mustApply(t, s, reading(sp.SensorID, i%2 == 0, t0, 1), occupancy.ResultApplied)
	}
	// An hour of silence later, several instances sweep at once.
	clk.now = clk.now.Add(time.Hour)
	var wg sync.WaitGroup
	marked := make([]int, 4)
	for i := range marked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.Sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			marked[i] = n
		}()
	}
	wg.Wait()
	if sum := marked[0] + marked[1] + marked[2] + marked[3]; sum != len(reg.Spaces()) {
		t.Fatalf("sweepers marked %v spaces in all, want each of %d exactly once", marked, len(reg.Spaces()))
	}
	checkCounters(t, s, reg)
}

func TestApplyConvergesToNewestUnderShuffledDuplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0.Add(24 * time.Hour)}
		reg := testRegistry(t)
		s := newStore(t, rdb, clk)
		rng := rand.New(rand.NewSource(1))
		var all []occupancy.Reading
		newest := map[string]occupancy.Reading{}
		for _, sp := range reg.Spaces() {
			for seq := uint64(1); seq <= 30; seq++ {
				r := reading(sp.SensorID, rng.Intn(2) == 0, t0.Add(time.Duration(seq)*time.Second), seq)
				all = append(all, r, r) // every message delivered twice
				newest[sp.ID] = r
			}
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(all); i += 8 {
					if _, err := s.Apply(ctx, all[i]); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		for _, sp := range reg.Spaces() {
			got, _ := s.Space(ctx, sp.ID)
			want := occupancy.StatusFree
			if newest[sp.ID].Occupied {
				want = occupancy.StatusOccupied
			}
			if got.Status != want || got.Seq != newest[sp.ID].Seq {
				t.Errorf("%s: %s seq %d, want %s seq %d", sp.ID, got.Status, got.Seq, want, newest[sp.ID].Seq)
			}
		}
		checkCounters(t, s, reg)
	})
}

func TestApplyBatchReloadsScriptsAfterFlush(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	ctx := context.Background()
	clk := &clock{now: t0.Add(time.Hour)}
	s := newStore(t, rdb, clk)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil { // as after a Redis restart
		t.Fatal(err)
	}
	rs := []occupancy.Reading{reading("S1", true, t0, 1), reading("S2", false, t0, 1),
		reading("nope", true, t0, 1), reading("S1", true, t0, 1)}
	res, errs := s.ApplyBatch(ctx, rs)
	want := []occupancy.Result{occupancy.ResultApplied, occupancy.ResultApplied,
		occupancy.ResultUnknownSensor, occupancy.ResultDuplicate}
	for i := range rs {
		if errs[i] != nil || res[i] != want[i] {
			t.Errorf("reading %d: %s, %v; want %s", i, res[i], errs[i], want[i])
		}
	}
}

func TestUnknownSensorChangesNothing(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	s := newStore(t, rdb, &clock{now: t0})
	before, _ := rdb.Keys(context.Background(), "*").Result()
	mustApply(t, s, reading("S-404", true, t0, 1), occupancy.ResultUnknownSensor)
	after, _ := rdb.Keys(context.Background(), "*").Result()
	if len(before) != len(after) {
		t.Fatalf("keys before %v, after %v", before, after)
	}
}

func TestNearbyFreeOnlyNearestFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := newStore(t, rdb, &clock{now: t0.Add(time.Hour)})
		for _, r := range []occupancy.Reading{
			reading("S1", true, t0, 1),  // A-1 occupied, at the query point
			reading("S2", false, t0, 1), // A-2 free, 10 m
			reading("S3", false, t0, 1), // A-3 free, 20 m
			reading("S4", false, t0, 1), // A-4 free accessible, 30 m
			reading("S5", false, t0, 1), // B-1 free, 1 km
		} {
			mustApply(t, s, r, occupancy.ResultApplied)
		}
		q := occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 500, Limit: 10}
		tests := []struct {
			name string
			q    func(occupancy.NearbyQuery) occupancy.NearbyQuery
			want []string
		}{
			{"all kinds within 500 m", func(q occupancy.NearbyQuery) occupancy.NearbyQuery { return q }, []string{"A-2", "A-3", "A-4"}},
			{"limit", func(q occupancy.NearbyQuery) occupancy.NearbyQuery { q.Limit = 2; return q }, []string{"A-2", "A-3"}},
			{"kind", func(q occupancy.NearbyQuery) occupancy.NearbyQuery { q.Kind = occupancy.KindAccessible; return q }, []string{"A-4"}},
			{"radius reaches the other zone", func(q occupancy.NearbyQuery) occupancy.NearbyQuery { q.RadiusM = 1100; return q }, []string{"A-2", "A-3", "A-4", "B-1"}},
			{"nothing within 5 m", func(q occupancy.NearbyQuery) occupancy.NearbyQuery { q.RadiusM = 5; return q }, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Nearby(ctx, tc.q(q))
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				last := -1.0
				for _, n := range got {
					ids = append(ids, n.Space.ID)
					if n.DistanceM < last || n.State.Status != occupancy.StatusFree {
						t.Fatalf("not nearest-first free: %+v", got)
					}
					last = n.DistanceM
				}
				if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
					t.Fatalf("got %v, want %v", ids, tc.want)
				}
			})
		}
		if _, err := s.Nearby(ctx, occupancy.NearbyQuery{Lat: 95, Lon: 121, RadiusM: 10, Limit: 1}); occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Fatalf("bad latitude: %v, want EINVALID", err)
		}
	})
}

func TestListSpacesPagesAndFilters(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	ctx := context.Background()
	reg := testRegistry(t)
	s := newStore(t, rdb, &clock{now: t0.Add(time.Hour)})
	mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied)
	mustApply(t, s, reading("S6", false, t0, 1), occupancy.ResultApplied)

	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		got, next, err := s.ListSpaces(ctx, occupancy.SpaceFilter{Limit: 4, After: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range got {
			seen = append(seen, st.SpaceID)
		}
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
		cursor = next
	}
	if fmt.Sprint(seen) != "[A-1 A-2 A-3 A-4 B-1 B-2]" {
		t.Fatalf("pages walked %v", seen)
	}
	free, next, err := s.ListSpaces(ctx, occupancy.SpaceFilter{Status: occupancy.StatusFree, Limit: 1})
	if err != nil || len(free) != 1 || free[0].SpaceID != "A-2" || next != "A-2" {
		t.Fatalf("first free page: %v next %q %v", free, next, err)
	}
	free, next, _ = s.ListSpaces(ctx, occupancy.SpaceFilter{Status: occupancy.StatusFree, Limit: 1, After: next})
	if len(free) != 1 || free[0].SpaceID != "B-2" {
		t.Fatalf("second free page: %v next %q", free, next)
	}
	inB, _, _ := s.ListSpaces(ctx, occupancy.SpaceFilter{ZoneID: "B", Limit: 10})
	if len(inB) != 2 {
		t.Fatalf("zone B: %v", inB)
	}
	if _, _, err := s.ListSpaces(ctx, occupancy.SpaceFilter{ZoneID: "Q", Limit: 10}); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
		t.Fatalf("unknown zone: %v", err)
	}
	_ = reg
}

func TestDeadLettersAreCappedNewestFirst(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	ctx := context.Background()
	s, _ := redisstore.New(redisstore.Options{Client: rdb, Registry: testRegistry(t), DeadLetterMax: 10})
	for i := range 500 {
		err := s.AddDeadLetter(ctx, occupancy.DeadLetter{Topic: "t", Result: "invalid",
			Reason: fmt.Sprint("n", i), Payload: strings.Repeat("x", 5000)})
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.DeadLetters(ctx, 3)
	if err != nil || len(got) != 3 || got[0].Reason != "n499" || len(got[0].Payload) != occupancy.MaxDeadLetterPayload {
		t.Fatalf("newest: %+v %v", got, err)
	}
	if n := rdb.XLen(ctx, "pk:rejected").Val(); n > 200 {
		t.Fatalf("stream holds %d entries, cap 10 (approximate)", n)
	}
}

func TestKeysShareTheZoneSlot(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	ctx := context.Background()
	s := newStore(t, rdb, &clock{now: t0.Add(time.Hour)})
	mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
	keys, _ := rdb.Keys(ctx, "pk:{A}*").Result()
	if len(keys) < 4 {
		t.Fatalf("zone A keys: %v", keys)
	}
	slot := rdb.ClusterKeySlot(ctx, keys[0]) // CLUSTER KEYSLOT works outside cluster mode too
	for _, k := range keys {
		if got := rdb.ClusterKeySlot(ctx, k); got.Err() == nil && got.Val() != slot.Val() {
			t.Fatalf("%s is in slot %d, %s in %d", k, got.Val(), keys[0], slot.Val())
		}
	}
}
