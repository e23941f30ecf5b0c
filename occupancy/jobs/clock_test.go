package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
)

// TestClockSkewIncident: a sensor whose reading was rejected for its clock
// gets a clock_skew incident saying how far off the clock was, and is not
// offline while it keeps sending (its rejected readings are signs of
// life); the incident resolves itself once a reading applies.
func TestClockSkewIncident(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx, t0 := context.Background(), storetest.T0
		clk, reg := storetest.NewClock(t0), storetest.Registry(t)
		s := storetest.NewStore(t, rdb, reg, clk.Now)
		d := newDetector(s, reg, clk, occupancy.HealthRules{})
		storetest.MustApply(t, s, storetest.Reading("S1", false, t0, 1), occupancy.ResultApplied)
		for _, m := range []time.Duration{20, 40} { // the sensor's clock is back in 2001
			clk.Set(t0.Add(m * time.Minute))
			if _, err := s.NoteClocks(ctx, []occupancy.Reading{storetest.Reading("S1", true, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), 2)}); err != nil {
				t.Fatal(err)
			}
		}
		opened, _ := detect(t, d)
		want := occupancy.IncidentID(occupancy.IncidentClockSkew, "A-1", clk.Now())
		if len(opened) != 1 || opened[0] != want {
			t.Fatalf("opened %v, want only %s (not offline: the sensor was heard 0 min ago)", opened, want)
		}
		incs, err := s.Incidents(ctx, occupancy.IncidentFilter{Type: occupancy.IncidentClockSkew}, 0)
		if err != nil || len(incs) != 1 || !strings.Contains(incs[0].Detail, "sensor time 2001-01-01T00:00:00Z") ||
			!strings.Contains(incs[0].Detail, "behind the receive time") {
			t.Fatalf("clock_skew incidents %+v, %v", incs, err)
		}
		clk.Add(time.Minute)
		if opened, _ := detect(t, d); len(opened) != 0 {
			t.Fatalf("a second pass opened %v", opened)
		}
		storetest.MustApply(t, s, storetest.Reading("S1", true, clk.Now(), 3), occupancy.ResultApplied)
		if _, resolved := detect(t, d); len(resolved) != 1 || resolved[0] != want {
			t.Fatalf("resolved %v, want %s", resolved, want)
		}
	})
}
