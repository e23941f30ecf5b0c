package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// healthOf returns the SensorHealth of one space.
func healthOf(t *testing.T, s *redisstore.Store, zone, space string) occupancy.SensorHealth {
	t.Helper()
	hs, err := s.SensorHealth(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.State.SpaceID == space {
			return h
		}
	}
	t.Fatalf("no sensor health for %s", space)
	return occupancy.SensorHealth{}
}

// TestSensorHealthCountsEachChangeOfABatch: a batch's readings of one zone
// are one stream entry of several changes (a space may change more than
// once in it); each counts.
func TestSensorHealthCountsEachChangeOfABatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		var rs []occupancy.Reading
		for i := range 5 { // occupied, free, occupied, free, occupied
			rs = append(rs, reading("S2", i%2 == 0, t0.Add(time.Duration(i)*time.Second), uint64(i)))
		}
		rs = append(rs, reading("S3", true, t0, 1), reading("S3", true, t0.Add(time.Second), 2)) // one change, then none
		if _, errs := s.ApplyBatch(context.Background(), rs); errors.Join(errs...) != nil {
			t.Fatal(errors.Join(errs...))
		}
		entries, err := rdb.XLen(context.Background(), "pk:{A}:ev").Result()
		if err != nil || entries != 1 {
			t.Fatalf("zone A's stream has %d entries (%v), want the batch's one", entries, err)
		}
		for space, want := range map[string]int{"A-2": 5, "A-3": 1, "A-1": 0} {
			if h := healthOf(t, s, "A", space); h.ChangesLastHour != want {
				t.Errorf("%s changes in the last hour: %d, want %d", space, h.ChangesLastHour, want)
			}
		}
	})
}

func TestSensorHealthCountsChangesInTheLastHour(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		// A-2 changes status 12 times in 12 minutes; a repeated status is no change.
		for i := range 12 {
			clk.now = t0.Add(time.Duration(i) * time.Minute)
			mustApply(t, s, reading("S2", i%2 == 0, clk.now, uint64(2*i)), occupancy.ResultApplied)
			mustApply(t, s, reading("S2", i%2 == 0, clk.now.Add(time.Second), uint64(2*i+1)), occupancy.ResultApplied)
		}
		low := reading("S3", false, clk.now, 1)
		low.BatteryMV = 2800
		mustApply(t, s, low, occupancy.ResultApplied)
		rules := occupancy.HealthRules{}.WithDefaults() // the offline limit the store was given

		h := healthOf(t, s, "A", "A-2")
		if h.ChangesLastHour != 12 {
			t.Errorf("A-2 changes in the last hour: %d, want 12", h.ChangesLastHour)
		}
		if got := rules.Problems(h, clk.now); len(got) != 1 || got[0] != occupancy.HealthFlapping {
			t.Errorf("A-2 problems %v, want [flapping]", got)
		}
		h3 := healthOf(t, s, "", "A-3")
		if got := rules.Problems(h3, clk.now); len(got) != 1 || got[0] != occupancy.HealthLowBattery || h3.State.BatteryMV != 2800 {
			t.Errorf("A-3 problems %v battery %d, want [low_battery] 2800", got, h3.State.BatteryMV)
		}
		// 61 minutes after the first change only the last 11 count; after 2 h none.
		clk.now = t0.Add(61 * time.Minute)
		if h := healthOf(t, s, "A", "A-2"); h.ChangesLastHour != 11 {
			t.Errorf("A-2 changes at t0+61m: %d, want 11 (changes at t0+1m..t0+11m)", h.ChangesLastHour)
		}
		clk.now = t0.Add(2 * time.Hour)
		h = healthOf(t, s, "A", "A-2")
		if h.ChangesLastHour != 0 {
			t.Errorf("A-2 changes after 2 h: %d, want 0", h.ChangesLastHour)
		}
		if got := rules.Problems(h, clk.now); len(got) != 1 || got[0] != occupancy.HealthOffline {
			t.Errorf("A-2 silent for 109 min: problems %v, want [offline]", got)
		}
		if _, err := s.SensorHealth(context.Background(), "NOPE"); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
			t.Errorf("unknown zone: %v, want not_found", err)
		}
	})
}

// TestSensorHealthCountsOnlyOccupancyChanges checks that the changes read
// from the event stream are the apply script's free/occupied flips: a sweep
// to unknown, a closure and its reopening are none; and that Init drops the
// change log and the last-seen set older versions kept.
func TestSensorHealthCountsOnlyOccupancyChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		for _, key := range []string{"pk:{A}:chg", "pk:{A}:seen"} {
			if err := rdb.ZAdd(ctx, key, redis.Z{Score: 1, Member: "A-1|1"}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		if n, err := rdb.Exists(ctx, "pk:{A}:chg", "pk:{A}:seen").Result(); err != nil || n != 0 {
			t.Fatalf("old change log and last-seen set after Init: %d exist, %v; want both gone", n, err)
		}
		mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied)  // unknown -> occupied: 1
		mustApply(t, s, reading("S1", false, t0, 2), occupancy.ResultApplied) // -> free: 2
		mustApply(t, s, reading("S1", false, t0, 3), occupancy.ResultApplied) // same status: no change
		if _, err := s.CloseSpace(ctx, "A-1", occupancy.Closure{Reason: "works"}); err != nil {
			t.Fatal(err)
		}
		if err := s.OpenSpace(ctx, "A-1"); err != nil {
			t.Fatal(err)
		}
		clk.now = t0.Add(40 * time.Minute) // silent past OfflineAfter: swept to unknown
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1", n, err)
		}
		if h := healthOf(t, s, "A", "A-1"); h.ChangesLastHour != 2 {
			t.Errorf("A-1 changes: %d, want 2 (sweep and closure are no occupancy change)", h.ChangesLastHour)
		}
	})
}
