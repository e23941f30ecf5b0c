package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// t0 is a fixed wall clock for the tests.
var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// clock is a settable clock for the store.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// testRegistry has two zones: A with three standard spaces 10 m apart and an
// accessible one, B 1 km north with two spaces.
func testRegistry(tb testing.TB) *occupancy.Registry {
	tb.Helper()
	zones := []occupancy.Zone{
		{ID: "A", Name: "东街", Type: occupancy.OnStreet, Lat: 29.85, Lon: 121.64},
		{ID: "B", Name: "北区", Type: occupancy.OffStreet, Lat: 29.859, Lon: 121.64},
	}
	const dLat = 10.0 / 111320 // 10 m
	spaces := []occupancy.Space{
		{ID: "A-1", ZoneID: "A", SensorID: "S1", Lat: 29.85, Lon: 121.64, Kind: occupancy.KindStandard, MaxStayMin: 60},
		{ID: "A-2", ZoneID: "A", SensorID: "S2", Lat: 29.85 + dLat, Lon: 121.64, Kind: occupancy.KindStandard},
		{ID: "A-3", ZoneID: "A", SensorID: "S3", Lat: 29.85 + 2*dLat, Lon: 121.64, Kind: occupancy.KindStandard},
		{ID: "A-4", ZoneID: "A", SensorID: "S4", Lat: 29.85 + 3*dLat, Lon: 121.64, Kind: occupancy.KindAccessible},
		{ID: "B-1", ZoneID: "B", SensorID: "S5", Lat: 29.859, Lon: 121.64, Kind: occupancy.KindStandard},
		{ID: "B-2", ZoneID: "B", SensorID: "S6", Lat: 29.859 + dLat, Lon: 121.64, Kind: occupancy.KindEV},
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// backend starts a Redis server of one kind and returns a client to it.
type backend struct {
	name  string
	start func(tb testing.TB) redis.UniversalClient
}

var backends = []backend{
	{"redis-server", func(tb testing.TB) redis.UniversalClient { return testenv.MustStartRedis(tb).Client(tb) }},
	{"miniredis", func(tb testing.TB) redis.UniversalClient {
		m := miniredis.RunT(tb)
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		tb.Cleanup(func() { c.Close() })
		return c
	}},
}

// forEachBackend runs fn against a real redis-server and against miniredis,
// the embedded default of the demo.
func forEachBackend(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.start(t)) })
	}
}

func newStore(tb testing.TB, rdb redis.UniversalClient, clk *clock) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: testRegistry(tb),
		Now: clk.Now, OfflineAfter: 30 * time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

func reading(sensor string, occupied bool, ts time.Time, seq uint64) occupancy.Reading {
	return occupancy.Reading{SensorID: sensor, Occupied: occupied, TS: ts, Seq: seq}
}

// mustApply applies r and fails unless the result is want.
func mustApply(tb testing.TB, s *redisstore.Store, r occupancy.Reading, want occupancy.Result) {
	tb.Helper()
	got, err := s.Apply(context.Background(), r)
	if err != nil {
		tb.Fatalf("apply %+v: %v", r, err)
	}
	if got != want {
		tb.Fatalf("apply %s occupied=%v ts=%s seq=%d: got %s, want %s", r.SensorID, r.Occupied,
			r.TS.Format(time.RFC3339Nano), r.Seq, got, want)
	}
}

// checkCounters asserts that every zone's counters equal the sum of its
// spaces' statuses, and returns the zone states.
func checkCounters(tb testing.TB, s *redisstore.Store, reg *occupancy.Registry) map[string]occupancy.Counts {
	tb.Helper()
	ctx := context.Background()
	zones, err := s.Zones(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]occupancy.Counts{}
	for _, z := range zones {
		states, err := s.States(ctx, reg.SpacesInZone(z.ZoneID))
		if err != nil {
			tb.Fatal(err)
		}
		var want occupancy.Counts
		for _, st := range states {
			want.Count(st.Status)
		}
		if z.Counts != want {
			tb.Fatalf("zone %s counters %+v, but its spaces add up to %+v", z.ZoneID, z.Counts, want)
		}
		out[z.ZoneID] = z.Counts
	}
	return out
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
