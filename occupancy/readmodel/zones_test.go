package readmodel_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/readmodel"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// TestModelZonesAsTheStore compares the zone counters the model keeps in
// memory with the store's counters, on random towns, after rounds of
// random readings (each zone with its own share of occupied spaces, so the
// levels move), closures and reopenings of a space and of a zone, and a
// sweep: the same counts, level and time of change.
func TestModelZonesAsTheStore(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng, clk := rand.New(rand.NewPCG(seed, 11)), storetest.NewClock(storetest.T0)
			s, reg := townStore(t, rdb, rng, clk)
			zones, spaces := reg.Zones(), reg.Spaces()
			m := newModel(s, reg, clk, readmodel.Options{})
			follow(t, s, clk, feed.TailerOptions{Zones: len(zones)}, m)
			// This one's feed reads 1 entry per zone at a time (MaxRead 3, 6 zones).
			confirm := newModel(s, reg, clk, readmodel.Options{Confirm: true})
			follow(t, s, clk, feed.TailerOptions{Zones: len(zones), MaxRead: 3}, confirm)
			share := map[string]float64{}
			for _, z := range zones {
				share[z.ID] = rng.Float64()
			}
			for round := range 5 {
				clk.Set(storetest.T0.Add(time.Duration(round) * time.Minute))
				if round == 4 { // most sensors go silent: the sweep marks them unknown
					clk.Set(storetest.T0.Add(40 * time.Minute))
				}
				for i, sp := range spaces {
					if rng.IntN(3) > 0 && (round < 4 || i%4 == 0) {
						r := storetest.Reading(sp.SensorID, rng.Float64() < share[sp.ZoneID], clk.Now(), uint64(i))
						storetest.MustApply(t, s, r, occupancy.ResultApplied)
					}
				}
				changeZones(t, s, round, spaces[rng.IntN(len(spaces))], zones[rng.IntN(len(zones))], zones)
				storetest.CheckCounters(t, s, reg)
				waitZonesAsTheStore(t, s, m, fmt.Sprint("round ", round))
				waitZonesAsTheStore(t, s, confirm, fmt.Sprint("round ", round, ", confirm"))
			}
		})
	}
}

// changeZones makes round's closures (of space and zone), reopenings (of
// every zone) or sweep.
func changeZones(t *testing.T, s *redisstore.Store, round int, space occupancy.Space, zone occupancy.Zone, all []occupancy.Zone) {
	t.Helper()
	ctx := context.Background()
	switch round {
	case 1:
		if _, err := s.CloseSpace(ctx, space.ID, occupancy.Closure{Reason: "works"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CloseZone(ctx, zone.ID, occupancy.Closure{Reason: "market"}); err != nil {
			t.Fatal(err)
		}
	case 2:
		for _, z := range all {
			if err := s.OpenZone(ctx, z.ID); err != nil {
				t.Fatal(err)
			}
		}
	case 4:
		if n, err := s.Sweep(ctx); err != nil || n == 0 {
			t.Fatalf("sweep: %d, %v; want some spaces marked unknown", n, err)
		}
	}
}

// waitZonesAsTheStore waits until the model's view holds every zone's
// counters as the store does, and Zones and Zone answer with them. (Each
// is waited for: a model still behind can match the store for a moment by
// chance, a space flipped and flipped back, and move on before the next
// look.)
func waitZonesAsTheStore(t *testing.T, s *redisstore.Store, m *readmodel.Model, when string) {
	t.Helper()
	ctx := context.Background()
	want, err := s.Zones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Eventually(t, 10*time.Second, func() string {
		view, ok := m.ViewZones()
		all, err := m.Zones(ctx)
		if err != nil {
			t.Fatal(err)
		}
		one, err := m.Zone(ctx, want[0].ZoneID)
		if err != nil {
			t.Fatal(err)
		}
		if ok && fmt.Sprint(view) == fmt.Sprint(want) && fmt.Sprint(all) == fmt.Sprint(want) && one == want[0] {
			return ""
		}
		return fmt.Sprintf("%s: model zones\n%v\nZones\n%v\nZone %v\nstore\n%v", when, view, all, one, want)
	})
}

// TestModelZonesFallBackWhenStale: a model that has not heard from the
// store for MaxLag answers zones from the store, as nearby does.
func TestModelZonesFallBackWhenStale(t *testing.T) {
	t0 := storetest.T0
	clk, reg := storetest.NewClock(t0), storetest.Registry(t)
	s := storetest.NewStore(t, storetest.Backends[0].Start(t), reg, clk.Now)
	m := newModel(s, reg, clk, readmodel.Options{})
	stop := follow(t, s, clk, feed.TailerOptions{}, m)
	storetest.MustApply(t, s, storetest.Reading("S1", false, t0, 1), occupancy.ResultApplied)
	waitZonesAsTheStore(t, s, m, "synced")
	stop()

	storetest.MustApply(t, s, storetest.Reading("S2", false, t0, 1), occupancy.ResultApplied) // the model does not follow
	free := func() int {
		zs, err := m.Zones(context.Background())
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
		t.Errorf("model stopped but fresh by the clock: %d free, want its 1", n)
	}
	clk.Set(t0.Add(3 * time.Second))
	if n := free(); n != 2 {
		t.Errorf("model stale: %d free, want the store's 2", n)
	}
}

// TestModelOnRedisCluster: the zones' streams are on different masters, so
// the model reads each zone whole in its own MULTI and the feed polls them
// with a pipeline of per-zone XREADs (a Cluster cannot block, Poll or
// not); the model must follow changes in every zone.
func TestModelOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node Redis Cluster")
	}
	t0 := storetest.T0
	clk, reg := storetest.NewClock(t0), storetest.ClusterRegistry(t)
	s := storetest.NewStore(t, testenv.MustStartRedisCluster(t, 3).Client(t), reg, clk.Now)
	if s.CanBlock() {
		t.Fatal("a store on a Cluster says it can block")
	}
	storetest.MustApply(t, s, storetest.Reading("S7", false, t0, 1), occupancy.ResultApplied) // C-1, before the model
	m := newModel(s, reg, clk, readmodel.Options{})
	follow(t, s, clk, feed.TailerOptions{Zones: 4}, m)
	waitStatus(t, m, 'f', "C-1")
	for _, sensor := range []string{"S1", "S5", "S8"} { // A-1, B-1, D-1: every master
		storetest.MustApply(t, s, storetest.Reading(sensor, false, t0, 1), occupancy.ResultApplied)
	}
	storetest.MustApply(t, s, storetest.Reading("S7", true, t0.Add(time.Second), 2), occupancy.ResultApplied)
	waitStatus(t, m, 'f', "A-1", "B-1", "D-1")
	waitStatus(t, m, 'o', "C-1")
	wantNearby(t, "cluster", m, "[A-1 D-1 B-1]")
	waitZonesAsTheStore(t, s, m, "cluster")
}
