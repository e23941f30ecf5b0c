package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// t0 is a fixed wall clock for the tests.
var t0 = storetest.T0

// clock is a settable clock for the store.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// The fixtures shared with the other packages' store tests (storetest).
var (
	testRegistry   = storetest.Registry
	forEachBackend = storetest.ForEachBackend
	reading        = storetest.Reading
	mustApply      = storetest.MustApply
	checkCounters  = storetest.CheckCounters
)

func newStore(tb testing.TB, rdb redis.UniversalClient, clk *clock) *redisstore.Store {
	tb.Helper()
	return storetest.NewStore(tb, rdb, testRegistry(tb), clk.Now)
}

func TestApplyOrdering(t *testing.T) {
	type step struct {
		occupied bool
		ts       time.Duration // after t0
		seq      uint64
		kind     occupancy.ReadingKind
		want     occupancy.Result
		status   occupancy.Status // status of the space after the step
		since    time.Duration    // expected Since, after t0
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"unknown becomes free", []step{
			{false, 0, 1, "", occupancy.ResultApplied, occupancy.StatusFree, 0},
		}},
		{"newer applies", []step{
			{false, 0, 1, "", occupancy.ResultApplied, occupancy.StatusFree, 0},
			{true, time.Minute, 2, "", occupancy.ResultApplied, occupancy.StatusOccupied, time.Minute},
		}},
		{"equal ts and seq is a duplicate", []step{
			{true, 0, 7, "", occupancy.ResultApplied, occupancy.StatusOccupied, 0},
			{true, 0, 7, "", occupancy.ResultDuplicate, occupancy.StatusOccupied, 0},
		}},
		{"a duplicate never changes state even with other content", []step{
			{true, 0, 7, "", occupancy.ResultApplied, occupancy.StatusOccupied, 0},
			{false, 0, 7, "", occupancy.ResultDuplicate, occupancy.StatusOccupied, 0},
		}},
		{"older ts is stale", []step{
			{true, time.Minute, 1, "", occupancy.ResultApplied, occupancy.StatusOccupied, time.Minute},
			{false, 0, 9, "", occupancy.ResultStale, occupancy.StatusOccupied, time.Minute},
		}},
		{"same ts, higher seq applies", []step{
			{true, 0, 1, "", occupancy.ResultApplied, occupancy.StatusOccupied, 0},
			{false, 0, 2, "", occupancy.ResultApplied, occupancy.StatusFree, 0},
		}},
		{"same ts, lower seq is stale", []step{
			{true, 0, 2, "", occupancy.ResultApplied, occupancy.StatusOccupied, 0},
			{false, 0, 1, "", occupancy.ResultStale, occupancy.StatusOccupied, 0},
		}},
		{"sub-millisecond ts still orders", []step{
			{true, time.Microsecond, 0, "", occupancy.ResultApplied, occupancy.StatusOccupied, 0},
			{false, 0, 0, "", occupancy.ResultStale, occupancy.StatusOccupied, 0},
			{false, 2 * time.Microsecond, 0, "", occupancy.ResultApplied, occupancy.StatusFree, 0},
		}},
		{"heartbeat with the same occupancy keeps since", []step{
			{true, 0, 1, "", occupancy.ResultApplied, occupancy.StatusOccupied, 0},
			{true, time.Hour, 2, occupancy.ReadingHeartbeat, occupancy.ResultApplied, occupancy.StatusOccupied, 0},
		}},
		{"heartbeat corrects a missed change", []step{
			{true, 0, 1, "", occupancy.ResultApplied, occupancy.StatusOccupied, 0},
			// the "free" status message at 30m was lost
			{false, time.Hour, 3, occupancy.ReadingHeartbeat, occupancy.ResultApplied, occupancy.StatusFree, time.Hour},
			{false, 30 * time.Minute, 2, "", occupancy.ResultStale, occupancy.StatusFree, time.Hour},
		}},
	}
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rdb.FlushDB(context.Background()) // a private server per test run
				clk := &clock{now: t0.Add(2 * time.Hour)}
				s := newStore(t, rdb, clk)
				for i, st := range tc.steps {
					r := reading("S1", st.occupied, t0.Add(st.ts), st.seq)
					r.Kind = st.kind
					mustApply(t, s, r, st.want)
					got, err := s.Space(context.Background(), "A-1")
					if err != nil {
						t.Fatal(err)
					}
					if got.Status != st.status || !got.Since.Equal(t0.Add(st.since).Truncate(time.Millisecond)) {
						t.Fatalf("step %d: status %s since %s, want %s since %s", i, got.Status,
							got.Since, st.status, t0.Add(st.since))
					}
					checkCounters(t, s, testRegistry(t))
				}
			})
		}
	})
}
