// Package storetest holds the fixtures of the tests that need a real
// occupancy store: a small registry, the two Redis backends parkd runs on
// (a private redis-server and the demo's miniredis), a store on either, a
// settable clock and assertions on the stored state.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// T0 is the fixed wall clock the tests start at.
var T0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// Clock is a settable clock, safe to read from other goroutines while a
// test sets it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Set sets the clock's time.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// Registry has two zones: A with three standard spaces 10 m apart and an
// accessible one, B 1 km north with a standard and an EV space.
func Registry(tb testing.TB) *occupancy.Registry {
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

// Backend starts a Redis server of one kind and returns a client to it.
type Backend struct {
	Name  string
	Start func(tb testing.TB) redis.UniversalClient
}

// Backends are the servers parkd runs on: a private redis-server and
// miniredis, the demo's embedded default.
var Backends = []Backend{
	{"redis-server", func(tb testing.TB) redis.UniversalClient { return testenv.MustStartRedis(tb).Client(tb) }},
	{"miniredis", func(tb testing.TB) redis.UniversalClient {
		m := miniredis.RunT(tb)
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		tb.Cleanup(func() { c.Close() })
		return c
	}},
}

// ForEachBackend runs fn as a subtest against each of Backends.
func ForEachBackend(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient)) {
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Start(t)) })
	}
}

// NewStore returns an initialised store of reg on rdb with the clock now
// and an offline limit of 30 minutes.
func NewStore(tb testing.TB, rdb redis.UniversalClient, reg *occupancy.Registry, now func() time.Time) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: now, OfflineAfter: 30 * time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Reading is a reading of sensor at ts with sequence seq.
func Reading(sensor string, occupied bool, ts time.Time, seq uint64) occupancy.Reading {
	return occupancy.Reading{SensorID: sensor, Occupied: occupied, TS: ts, Seq: seq}
}

// MustApply applies r and fails unless the result is want.
func MustApply(tb testing.TB, s *redisstore.Store, r occupancy.Reading, want occupancy.Result) {
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

// CheckCounters asserts that every zone's counters equal the sum of its
// spaces' statuses, and returns the zones' counts.
func CheckCounters(tb testing.TB, s *redisstore.Store, reg *occupancy.Registry) map[string]occupancy.Counts {
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

// Eventually calls cond every 10 ms until it returns "" (the condition
// holds) or within fails the test with cond's last answer.
func Eventually(tb testing.TB, within time.Duration, cond func() string) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", within, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
