package redisstore_test

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// TestApplyBatchMatchesOneByOne checks that a batch is the same as its
// readings applied one at a time, in order, when the readings of one space
// meet in the same script call: the same result for each reading, the same
// states, counters and levels, the same free sets (nearby) and the same
// space events (sameEvents). The stream has every case the ordering rule knows
// (applied, duplicate, stale by time and by sequence, a heartbeat that
// keeps the status, flips back and forth) and an unknown sensor, cut into
// batches of random length.
func TestApplyBatchMatchesOneByOne(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0.Add(24 * time.Hour)}
		open := func(prefix string) *redisstore.Store {
			s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: testRegistry(t), Prefix: prefix,
				Now: clk.Now, OfflineAfter: 30 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Init(ctx); err != nil {
				t.Fatal(err)
			}
			return s
		}
		one, batch := open("one"), open("batch")
		reg := testRegistry(t)

		rng := rand.New(rand.NewSource(7))
		sensors := []string{"S1", "S2", "S3", "S4", "S5", "S6", "S-404"}
		var rs []occupancy.Reading
		for range 400 {
			r := reading(sensors[rng.Intn(len(sensors))], rng.Intn(2) == 0,
				t0.Add(time.Duration(rng.Intn(40))*time.Second), uint64(rng.Intn(3)))
			if rng.Intn(4) == 0 {
				r.BatteryMV = 3000 + rng.Intn(600)
			}
			rs = append(rs, r)
			if rng.Intn(5) == 0 { // delivered twice, back to back
				rs = append(rs, r)
			}
		}

		seen := map[occupancy.Result]int{}
		for len(rs) > 0 {
			n := min(len(rs), 1+rng.Intn(40))
			chunk := rs[:n]
			rs = rs[n:]
			got, errs := batch.ApplyBatch(ctx, chunk)
			for i, r := range chunk {
				want, err := one.Apply(ctx, r)
				if err != nil || errs[i] != nil {
					t.Fatalf("reading %+v: %v, %v", r, err, errs[i])
				}
				if got[i] != want {
					t.Fatalf("reading %d of a batch of %d (%s seq %d at %s): batch says %s, one by one %s",
						i, n, r.SensorID, r.Seq, r.TS.Format(time.TimeOnly), got[i], want)
				}
				seen[want]++
			}
			clk.now = clk.now.Add(time.Second)
		}
		for _, res := range []occupancy.Result{occupancy.ResultApplied, occupancy.ResultDuplicate,
			occupancy.ResultStale, occupancy.ResultUnknownSensor} {
			if seen[res] == 0 {
				t.Errorf("the stream never gave %s: %v", res, seen)
			}
		}

		for _, sp := range reg.Spaces() {
			a, errA := one.Space(ctx, sp.ID)
			b, errB := batch.Space(ctx, sp.ID)
			if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
				t.Errorf("space %s:\n batch      %+v (%v)\n one by one %+v (%v)", sp.ID, b, errB, a, errA)
			}
		}
		za, zb := checkCounters(t, one, reg), checkCounters(t, batch, reg)
		if !reflect.DeepEqual(za, zb) {
			t.Errorf("zones: batch %+v, one by one %+v", zb, za)
		}
		q := occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 5000, Limit: 10}
		na, errA := one.Nearby(ctx, q)
		nb, errB := batch.Nearby(ctx, q)
		if errA != nil || errB != nil || !reflect.DeepEqual(na, nb) {
			t.Errorf("nearby: batch %+v (%v), one by one %+v (%v)", nb, errB, na, errA)
		}
		ea, eb := spaceEvents(t, one), spaceEvents(t, batch)
		if len(ea["A"]) == 0 || len(ea["B"]) == 0 {
			t.Fatalf("no events one by one: %v", ea)
		}
		for _, z := range []string{"A", "B"} {
			if err := sameEvents(eb[z], ea[z]); err != nil {
				t.Errorf("zone %s: %v\n batch      %v\n one by one %v", z, err, eb[z], ea[z])
			}
		}
	})
}

// sameEvents checks the events of a batch against those of the same
// readings one by one. Each change is an entry of its own one by one (its
// space's event, then the zone's counts after it); a batch's call is one
// entry of its changes and then the zone's counts after the last of them.
// So the space events must be the same in the same order, and each zone
// event of the batch the one the one-by-one stream has after the same
// change.
func sameEvents(batch, one []string) error {
	var spaces []string
	after := map[int]string{} // one by one: the zone event after the i-th space event
	for _, e := range one {
		if strings.HasPrefix(e, "zone ") {
			after[len(spaces)] = e
		} else {
			spaces = append(spaces, e)
		}
	}
	n, zones := 0, 0
	for _, e := range batch {
		if !strings.HasPrefix(e, "zone ") {
			if n == len(spaces) || e != spaces[n] {
				return fmt.Errorf("space event %d: %s", n, e)
			}
			n++
			continue
		}
		if zones++; after[n] != e {
			return fmt.Errorf("zone event after space event %d: %s, want %s", n, e, after[n])
		}
	}
	if n != len(spaces) || zones == 0 || zones == len(after) {
		return fmt.Errorf("%d space events of %d, %d zone events of %d: want all, and fewer zone events", n, len(spaces), zones, len(after))
	}
	return nil
}

// spaceEvents returns the space and zone events of each zone's stream
// (space, status, time; the zone's counts and level after the change), in
// the stream's order, without their ids.
func spaceEvents(tb testing.TB, s *redisstore.Store) map[string][]string {
	tb.Helper()
	c, err := s.EventsAfter("0-0@A")
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]string{}
	for {
		evs, _, err := s.ReadEvents(context.Background(), c, 1000, 0)
		if err != nil {
			tb.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		for _, e := range evs {
			out[e.ZoneID] = append(out[e.ZoneID], string(e.Type)+" "+e.SpaceID+" "+e.Status+" "+
				e.Time.Format(time.TimeOnly)+" "+string(e.Data))
		}
	}
}
