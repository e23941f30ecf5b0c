package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// TestFreeIndexZonesAsRedis compares the zone counters the index keeps in
// memory with the zones' counters hashes, on random towns, after rounds of
// random readings (each zone with its own share of occupied spaces, so the
// levels move), closures and reopenings of a space and of a zone, and a
// sweep: the same counts, level and time of change.
func TestFreeIndexZonesAsRedis(t *testing.T) {
	rdb := testenv.MustStartRedis(t).Client(t)
	ctx := context.Background()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			reg := randomTown(t, rng)
			clk := &syncClock{now: t0}
			s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: clk.Now, OfflineAfter: 30 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Init(ctx); err != nil {
				t.Fatal(err)
			}
			idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond})
			// This one reads 1 event per zone at a time (MaxRead 3, 6 zones).
			confirm := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond, Confirm: true, MaxRead: 3})
			runIndex(t, idx)
			runIndex(t, confirm)
			zones, spaces := reg.Zones(), reg.Spaces()
			share := map[string]float64{}
			for _, z := range zones {
				share[z.ID] = rng.Float64()
			}
			for round := range 5 {
				clk.Set(t0.Add(time.Duration(round) * time.Minute))
				if round == 4 { // most sensors go silent: the sweep marks them unknown
					clk.Set(t0.Add(40 * time.Minute))
				}
				for i, sp := range spaces {
					if rng.IntN(3) > 0 && (round < 4 || i%4 == 0) {
						mustApply(t, s, reading(sp.SensorID, rng.Float64() < share[sp.ZoneID], clk.Now(), uint64(i)), occupancy.ResultApplied)
					}
				}
				space, zone := spaces[rng.IntN(len(spaces))], zones[rng.IntN(len(zones))]
				switch round {
				case 1:
					if _, err := s.CloseSpace(ctx, space.ID, occupancy.Closure{Reason: "works"}); err != nil {
						t.Fatal(err)
					}
					if _, err := s.CloseZone(ctx, zone.ID, occupancy.Closure{Reason: "market"}); err != nil {
						t.Fatal(err)
					}
				case 2:
					for _, z := range zones {
						if err := s.OpenZone(ctx, z.ID); err != nil {
							t.Fatal(err)
						}
					}
				case 4:
					if n, err := s.Sweep(ctx); err != nil || n == 0 {
						t.Fatalf("sweep: %d, %v; want some spaces marked unknown", n, err)
					}
				}
				waitZonesAsRedis(t, s, idx, fmt.Sprint("round ", round))
				waitZonesAsRedis(t, s, confirm, fmt.Sprint("round ", round, ", confirm"))
			}
		})
	}
}

// waitZonesAsRedis waits until the index's view holds every zone's counters
// as Redis does, and Zones and Zone answer with them. (Each is waited for:
// an index still behind can match Redis for a moment by chance, a space
// flipped and flipped back, and move on before the next look.)
func waitZonesAsRedis(t *testing.T, s *redisstore.Store, idx *redisstore.FreeIndex, when string) {
	t.Helper()
	want, err := s.Zones(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var view, all []occupancy.ZoneState
	var one occupancy.ZoneState
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		var ok bool
		view, ok = idx.ViewZones()
		if all, err = idx.Zones(context.Background()); err != nil {
			t.Fatal(err)
		}
		if one, err = idx.Zone(context.Background(), want[0].ZoneID); err != nil {
			t.Fatal(err)
		}
		if ok && fmt.Sprint(view) == fmt.Sprint(want) && fmt.Sprint(all) == fmt.Sprint(want) && one == want[0] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: index zones\n%v\nZones\n%v\nZone %v\nredis\n%v", when, view, all, one, want)
		}
	}
}

// TestFreeIndexZonesFallBackWhenStale: an index that has not heard from
// Redis for MaxLag answers zones from Redis, as nearby does.
func TestFreeIndexZonesFallBackWhenStale(t *testing.T) {
	clk := &syncClock{now: t0}
	s := newClockedStore(t, testenv.MustStartRedis(t).Client(t), clk)
	idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{Poll: time.Millisecond})
	stop := runIndex(t, idx)
	mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
	waitZonesAsRedis(t, s, idx, "synced")
	stop()

	mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied) // the index does not follow
	free := func() int {
		zs, err := idx.Zones(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, z := range zs {
			n += z.Counts.Free
		}
		return n
	}
	if n := free(); n != 1 {
		t.Errorf("index stopped but fresh by the clock: %d free, want its 1", n)
	}
	clk.Set(t0.Add(3 * time.Second))
	if n := free(); n != 2 {
		t.Errorf("index stale: %d free, want Redis's 2", n)
	}
}

func TestFreeIndexReadCount(t *testing.T) {
	for _, tc := range []struct {
		maxRead, zones int
		want           int64
	}{
		{0, 30, 666},    // Qiuai: the default 20 000 shared by 30 zones
		{0, 2860, 6},    // a city of a million spaces
		{0, 1, 1000},    // never more than 1000 a stream
		{0, 0, 1000},    // no zones yet
		{0, 50000, 1},   // at least 1
		{3, 6, 1},       // as TestFreeIndexZonesAsRedis sets it
		{5000, 2, 1000}, // capped
		{5000, 10, 500}, // shared
	} {
		idx := redisstore.NewFreeIndex(nil, redisstore.FreeIndexOptions{MaxRead: tc.maxRead})
		if got := idx.ReadCount(tc.zones); got != tc.want {
			t.Errorf("MaxRead %d, %d zones: %d a stream, want %d", tc.maxRead, tc.zones, got, tc.want)
		}
	}
}
