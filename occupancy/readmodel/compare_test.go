package readmodel_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/readmodel"
	"github.com/qiuai/parking/occupancy/redisstore"
)

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

// townStore returns a store of a random town on rdb, emptied first, on clk.
func townStore(t *testing.T, rdb redis.UniversalClient, rng *rand.Rand, clk *storetest.Clock) (*redisstore.Store, *occupancy.Registry) {
	t.Helper()
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	reg := randomTown(t, rng)
	return storetest.NewStore(t, rdb, reg, clk.Now), reg
}

// TestModelAnswersAsTheStorePath compares the model's answers with the
// store's own (GEORADIUS per zone and kind) on random towns, traffic and
// queries: the same spaces, order, distances and states.
func TestModelAnswersAsTheStorePath(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng, clk := rand.New(rand.NewPCG(seed, 7)), storetest.NewClock(storetest.T0)
			s, reg := townStore(t, rdb, rng, clk)
			m := newModel(s, reg, clk, readmodel.Options{})
			confirm := newModel(s, reg, clk, readmodel.Options{Confirm: true})
			follow(t, s, clk, feed.TailerOptions{Zones: len(reg.Zones())}, m, confirm)
			for round := range 3 {
				for i, sp := range reg.Spaces() {
					if rng.IntN(3) > 0 {
						r := storetest.Reading(sp.SensorID, rng.IntN(2) == 0, storetest.T0.Add(time.Duration(round)*time.Second), uint64(i))
						storetest.MustApply(t, s, r, occupancy.ResultApplied)
					}
				}
				waitCaughtUp(t, s, reg, m, confirm)
				compareNearby(t, rng, s, m, confirm)
			}
		})
	}
}

// waitCaughtUp waits until the models hold every space's status as the
// store does.
func waitCaughtUp(t *testing.T, s *redisstore.Store, reg *occupancy.Registry, models ...*readmodel.Model) {
	t.Helper()
	states, err := s.States(context.Background(), reg.Spaces())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		for _, st := range states {
			waitStatus(t, m, string(st.Status)[0], st.SpaceID)
		}
	}
}

// compareNearby runs random queries on the store and on both models: with
// Confirm the answers must be identical but for observed_at; from memory,
// a space's last_seen, sensor time and health may be older (a reading that
// keeps the status writes no event).
func compareNearby(t *testing.T, rng *rand.Rand, s *redisstore.Store, m, confirm *readmodel.Model) {
	t.Helper()
	ctx := context.Background()
	kinds := append([]occupancy.Kind{"", ""}, occupancy.Kinds...)
	types := []occupancy.ZoneType{"", "", occupancy.OnStreet, occupancy.OffStreet}
	for range 200 {
		q := occupancy.NearbyQuery{Lat: 29.843 + rng.Float64()*0.014, Lon: 121.633 + rng.Float64()*0.014,
			RadiusM: 20 + rng.Float64()*900, Limit: 1 + rng.IntN(30),
			Kind: kinds[rng.IntN(len(kinds))], ZoneType: types[rng.IntN(len(types))]}
		want, err := s.Nearby(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := confirm.Nearby(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := nearbyLines(got, true), nearbyLines(want, true); a != b {
			t.Fatalf("query %+v:\nconfirm %s\nstore   %s", q, a, b)
		}
		if got, err = m.Nearby(ctx, q); err != nil {
			t.Fatal(err)
		}
		if a, b := nearbyLines(got, false), nearbyLines(want, false); a != b {
			t.Fatalf("query %+v:\nmodel %s\nstore %s", q, a, b)
		}
		for i := range got {
			if got[i].State.LastSeen.After(want[i].State.LastSeen) || got[i].ObservedAt.IsZero() {
				t.Fatalf("%s: last seen %s observed %s, store's last seen %s", got[i].Space.ID, got[i].State.LastSeen,
					got[i].ObservedAt, want[i].State.LastSeen)
			}
		}
		compareNearestFreeZones(t, q, 1+rng.IntN(5), s, m, confirm)
	}
	for _, x := range []*readmodel.Model{m, confirm} {
		if st := x.Stats(); st.FromStore != 0 {
			t.Errorf("stats %+v: want every query from memory", st)
		}
	}
}

// compareNearestFreeZones asks the store and the models for the n nearest
// zones with free spaces of q's kind and zone type: the models count from
// memory and must give the same zones, distances and counts.
func compareNearestFreeZones(t *testing.T, q occupancy.NearbyQuery, n int, s *redisstore.Store, models ...*readmodel.Model) {
	t.Helper()
	want, err := s.NearestFreeZones(context.Background(), q, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		got, err := m.NearestFreeZones(context.Background(), q, n)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := fmt.Sprint(got), fmt.Sprint(want); a != b {
			t.Fatalf("nearest free zones, query %+v, n %d:\nmodel %s\nstore %s", q, n, a, b)
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
