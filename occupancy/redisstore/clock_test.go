package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// TestNoteClocksIsASignOfLife checks what a reading rejected for its clock
// does: the space's last_seen moves (never back) and its sensor shows the
// rejected clock, while its status, since, counters and feed stay as they
// are; a repeat is harmless; a reading that applies clears the clock; the
// sweeper does not mark the live sensor unknown; check finds no drift.
func TestNoteClocksIsASignOfLife(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied)
		before, err := s.Zone(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		pos := lastEventPos(t, s)

		clk.now = t0.Add(20 * time.Minute)
		old := reading("S1", false, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), 2)
		for range 2 { // the second time as a retry would
			known, err := s.NoteClocks(ctx, []occupancy.Reading{old, reading("S99", true, t0, 1)})
			if err != nil || len(known) != 2 || !known[0] || known[1] {
				t.Fatalf("NoteClocks = %v, %v; want [true false]", known, err)
			}
		}
		st, err := s.Space(ctx, "A-1")
		if err != nil {
			t.Fatal(err)
		}
		want := occupancy.SensorClock{TS: old.TS, ReceivedAt: clk.now}
		if st.Status != occupancy.StatusOccupied || !st.Since.Equal(t0) || !st.LastSeen.Equal(clk.now) ||
			st.Health.Clock == nil || *st.Health.Clock != want {
			t.Fatalf("A-1 after a rejected clock = %+v (clock %v), want occupied since %s, seen %s, clock %+v",
				st, st.Health.Clock, t0, clk.now, want)
		}
		if after, _ := s.Zone(ctx, "A"); after.Counts != before.Counts {
			t.Errorf("counters moved: %+v, want %+v", after.Counts, before.Counts)
		}
		if got := lastEventPos(t, s); got != pos {
			t.Errorf("the feed moved: last event %s, want %s", got, pos)
		}

		// An earlier clock never takes last_seen back.
		clk.now = t0.Add(10 * time.Minute)
		if _, err := s.NoteClocks(ctx, []occupancy.Reading{old}); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Space(ctx, "A-1"); !st.LastSeen.Equal(t0.Add(20 * time.Minute)) {
			t.Errorf("last_seen went back to %s", st.LastSeen)
		}

		// 40 minutes after the last applied reading, 20 after the last
		// sign of life: the sweeper (30m) leaves the live sensor alone.
		clk.now = t0.Add(40 * time.Minute)
		if n, err := s.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("Sweep = %d, %v; want 0 spaces marked", n, err)
		}
		checkNoDrift(t, s)

		// A reading that applies clears the rejected clock.
		mustApply(t, s, reading("S1", false, clk.now, 3), occupancy.ResultApplied)
		if st, _ := s.Space(ctx, "A-1"); st.Health.Clock != nil || st.Status != occupancy.StatusFree {
			t.Fatalf("after an applied reading: %+v, clock %v; want free without a clock", st, st.Health.Clock)
		}
		checkNoDrift(t, s)
	})
}

// TestStaleReadingIsASignOfLife checks that a reading older than the stored
// one (a clock that went back) moves last_seen and nothing else, so the
// sweeper does not take its sensor for silent; a duplicate moves nothing.
func TestStaleReadingIsASignOfLife(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		mustApply(t, s, reading("S1", true, t0, 5), occupancy.ResultApplied)
		clk.now = t0.Add(20 * time.Minute)
		mustApply(t, s, reading("S1", true, t0, 5), occupancy.ResultDuplicate)
		if st, _ := s.Space(ctx, "A-1"); !st.LastSeen.Equal(t0) {
			t.Errorf("a duplicate moved last_seen to %s", st.LastSeen)
		}
		// A batch: the stale reading of S1 beside an applied one of S2.
		rs := []occupancy.Reading{reading("S1", false, t0.Add(-time.Hour), 9), reading("S2", false, clk.now, 1)}
		res, errs := s.ApplyBatch(ctx, rs)
		if res[0] != occupancy.ResultStale || res[1] != occupancy.ResultApplied || errs[0] != nil || errs[1] != nil {
			t.Fatalf("ApplyBatch = %v, %v", res, errs)
		}
		st, _ := s.Space(ctx, "A-1")
		if st.Status != occupancy.StatusOccupied || !st.Since.Equal(t0) || !st.SensorTS.Equal(t0) || st.Seq != 5 ||
			!st.LastSeen.Equal(clk.now) {
			t.Fatalf("A-1 after a stale reading = %+v; want occupied since %s, reading %s/5, seen %s", st, t0, t0, clk.now)
		}
		clk.now = t0.Add(40 * time.Minute)
		if n, err := s.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("Sweep = %d, %v; want 0 (A-1 was heard 20 minutes ago)", n, err)
		}
		checkNoDrift(t, s)
	})
}

// lastEventPos returns the position of zone A's last event.
func lastEventPos(tb testing.TB, s *redisstore.Store) string {
	tb.Helper()
	c, err := s.EventsNow(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return c.Pos("A")
}

// checkNoDrift fails unless the counters, free sets and states agree.
func checkNoDrift(tb testing.TB, s *redisstore.Store) {
	tb.Helper()
	if rep, err := s.Check(context.Background(), false); err != nil || len(rep.Drift) != 0 {
		tb.Fatalf("Check = %+v, %v; want no drift", rep.Drift, err)
	}
}
