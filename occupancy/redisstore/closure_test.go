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

// closureEnv is a store over one backend with helpers that check, after
// every step, a space's status, the counters and the consistency check.
type closureEnv struct {
	t   *testing.T
	s   *redisstore.Store
	clk *clock
	reg *occupancy.Registry
}

func newClosureEnv(t *testing.T, rdb redis.UniversalClient) *closureEnv {
	clk := &clock{now: t0}
	s := newStore(t, rdb, clk)
	return &closureEnv{t: t, s: s, clk: clk, reg: testRegistry(t)}
}

// status asserts the space's status, that counters add up, and that the
// consistency check finds no drift.
func (e *closureEnv) status(id string, want occupancy.Status) {
	e.t.Helper()
	st, err := e.s.Space(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	if st.Status != want {
		e.t.Fatalf("space %s is %s, want %s", id, st.Status, want)
	}
	checkCounters(e.t, e.s, e.reg)
	rep, err := e.s.Check(context.Background(), false)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(rep.Drift) > 0 {
		e.t.Fatalf("drift after %s is %s: %+v", id, want, rep.Drift)
	}
}

// nearbyHas reports whether a nearby search around zone A lists id.
func (e *closureEnv) nearbyHas(id string) bool {
	e.t.Helper()
	got, err := e.s.Nearby(context.Background(), occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 5000, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, n := range got {
		if n.Space.ID == id {
			return true
		}
	}
	return false
}

func (e *closureEnv) closeSpace(id, reason string, until time.Time) {
	e.t.Helper()
	if _, err := e.s.CloseSpace(context.Background(), id, occupancy.Closure{Reason: reason, Until: until}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *closureEnv) reopenDue(at time.Time, want int) {
	e.t.Helper()
	e.clk.now = at
	n, err := e.s.ReopenDue(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if n != want {
		e.t.Fatalf("ReopenDue at %s opened %d, want %d", at.Format(time.RFC3339), n, want)
	}
}

func TestCloseSpaceIgnoresSensorUntilOpened(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		e := newClosureEnv(t, rdb)
		mustApply(t, e.s, reading("S1", false, t0, 1), occupancy.ResultApplied)
		e.status("A-1", occupancy.StatusFree)
		if !e.nearbyHas("A-1") {
			t.Fatal("free A-1 not in nearby")
		}
		e.closeSpace("A-1", "road works", time.Time{})
		e.status("A-1", occupancy.StatusClosed)
		if e.nearbyHas("A-1") {
			t.Fatal("closed A-1 listed by nearby")
		}
		mustApply(t, e.s, reading("S1", true, t0.Add(time.Minute), 2), occupancy.ResultApplied)
		e.status("A-1", occupancy.StatusClosed)
		mustApply(t, e.s, reading("S1", false, t0.Add(2*time.Minute), 3), occupancy.ResultApplied)
		e.status("A-1", occupancy.StatusClosed)
		if e.nearbyHas("A-1") {
			t.Fatal("closed A-1 listed by nearby after a free reading")
		}
		c, ok, err := e.s.Closure(context.Background(), "A-1", false)
		if err != nil || !ok || c.Reason != "road works" || c.Target != "A-1" || c.Zone || !c.ClosedAt.Equal(t0) {
			t.Fatalf("Closure(A-1) = %+v, %v, %v", c, ok, err)
		}
		if err := e.s.OpenSpace(context.Background(), "A-1"); err != nil {
			t.Fatal(err)
		}
		e.status("A-1", occupancy.StatusFree) // the sensor's last word
		if !e.nearbyHas("A-1") {
			t.Fatal("reopened free A-1 not in nearby")
		}
		if _, ok, _ := e.s.Closure(context.Background(), "A-1", false); ok {
			t.Fatal("closure still stored after open")
		}
		if err := e.s.OpenSpace(context.Background(), "A-1"); err != nil { // idempotent
			t.Fatal(err)
		}
		e.status("A-1", occupancy.StatusFree)
	})
}

func TestClosureReopensAtUntil(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		e := newClosureEnv(t, rdb)
		mustApply(t, e.s, reading("S2", true, t0, 1), occupancy.ResultApplied)
		e.closeSpace("A-2", "event", t0.Add(time.Hour))
		e.closeSpace("A-3", "renewed", t0.Add(time.Hour))
		e.closeSpace("A-3", "renewed", t0.Add(3*time.Hour)) // a later until replaces the first
		e.reopenDue(t0.Add(30*time.Minute), 0)
		e.status("A-2", occupancy.StatusClosed)
		mustApply(t, e.s, reading("S2", true, t0.Add(40*time.Minute), 2), occupancy.ResultApplied) // heard while closed
		e.reopenDue(t0.Add(time.Hour), 1)
		e.status("A-2", occupancy.StatusOccupied)
		e.status("A-3", occupancy.StatusClosed)
		e.reopenDue(t0.Add(2*time.Hour), 0) // a second instance, or the next tick: nothing more
		e.reopenDue(t0.Add(3*time.Hour), 1)
		e.status("A-3", occupancy.StatusUnknown) // never heard from
	})
}

func TestReopenSilentSensorIsUnknown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		e := newClosureEnv(t, rdb)
		mustApply(t, e.s, reading("S1", false, t0, 1), occupancy.ResultApplied)
		e.closeSpace("A-1", "works", t0.Add(2*time.Hour))
		e.clk.now = t0.Add(time.Hour)
		if _, err := e.s.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.status("A-1", occupancy.StatusClosed) // the sweeper leaves closed spaces alone
		e.reopenDue(t0.Add(2*time.Hour), 1)
		e.status("A-1", occupancy.StatusUnknown) // silent for 2 h > OfflineAfter
		if e.nearbyHas("A-1") {
			t.Fatal("silent A-1 listed by nearby")
		}
	})
}

func TestCloseZone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		e := newClosureEnv(t, rdb)
		ctx := context.Background()
		mustApply(t, e.s, reading("S1", false, t0, 1), occupancy.ResultApplied)
		mustApply(t, e.s, reading("S2", true, t0, 1), occupancy.ResultApplied)
		mustApply(t, e.s, reading("S4", false, t0, 1), occupancy.ResultApplied)
		e.closeSpace("A-2", "own closure", time.Time{})
		if _, err := e.s.CloseZone(ctx, "A", occupancy.Closure{Reason: "market day", Until: t0.Add(20 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		z, err := e.s.Zone(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		if want := (occupancy.Counts{Total: 4, Closed: 4}); z.Counts != want {
			t.Fatalf("closed zone counts %+v, want %+v", z.Counts, want)
		}
		e.status("A-4", occupancy.StatusClosed)
		if e.nearbyHas("A-1") || e.nearbyHas("A-4") {
			t.Fatal("spaces of a closed zone listed by nearby")
		}
		if c, ok, _ := e.s.Closure(ctx, "A-1", false); !ok || !c.Zone || c.Reason != "market day" {
			t.Fatalf("A-1's closure = %+v, %v: want the zone's", c, ok)
		}
		err = e.s.OpenSpace(ctx, "A-1")
		if occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Fatalf("open a space of a closed zone: %v, want conflict", err)
		}
		e.status("A-1", occupancy.StatusClosed)
		e.status("B-1", occupancy.StatusUnknown) // other zones untouched
		e.reopenDue(t0.Add(20*time.Minute), 1)   // the zone's until
		e.status("A-1", occupancy.StatusFree)
		e.status("A-4", occupancy.StatusFree)
		e.status("A-3", occupancy.StatusUnknown)
		e.status("A-2", occupancy.StatusClosed) // its own closure stays
		if err := e.s.OpenSpace(ctx, "A-2"); err != nil {
			t.Fatal(err)
		}
		e.status("A-2", occupancy.StatusOccupied)
	})
}

func TestClosureErrors(t *testing.T) {
	e := newClosureEnv(t, storetest.Backends[1].Start(t))
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"no reason", second(e.s.CloseSpace(ctx, "A-1", occupancy.Closure{})), occupancy.EINVALID},
		{"until in the past", second(e.s.CloseSpace(ctx, "A-1", occupancy.Closure{Reason: "x", Until: t0})), occupancy.EINVALID},
		{"unknown space", second(e.s.CloseSpace(ctx, "NOPE", occupancy.Closure{Reason: "x"})), occupancy.ENOTFOUND},
		{"unknown zone", second(e.s.CloseZone(ctx, "NOPE", occupancy.Closure{Reason: "x"})), occupancy.ENOTFOUND},
		{"open unknown space", e.s.OpenSpace(ctx, "NOPE"), occupancy.ENOTFOUND},
		{"open unknown zone", e.s.OpenZone(ctx, "NOPE"), occupancy.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := occupancy.ErrorCode(tc.err); got != tc.code {
				t.Fatalf("error %v (code %q), want code %q", tc.err, got, tc.code)
			}
		})
	}
	e.status("A-1", occupancy.StatusUnknown) // nothing was closed
}

func second[T any](_ T, err error) error { return err }

func TestCheckRepairsClosures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		e := newClosureEnv(t, rdb)
		ctx := context.Background()
		if _, err := e.s.CloseZone(ctx, "A", occupancy.Closure{Reason: "works"}); err != nil {
			t.Fatal(err)
		}
		// Hand edits: A-1 free in a closed zone, B-1 closed without a closure.
		if err := rdb.HSet(ctx, "pk:{A}:s", "A-1", "f|0|1|1|1000|1||||||").Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.HSet(ctx, "pk:{B}:s", "B-1", "c|0|1|1|1000|1||||||").Err(); err != nil {
			t.Fatal(err)
		}
		rep, err := e.s.Check(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]occupancy.Drift{}
		for _, d := range rep.Drift {
			if d.Kind == occupancy.DriftClosure {
				got[d.What] = d
			}
		}
		if d := got["A-1"]; d.Expected != "closed" || d.Found != "free" || d.Fixed {
			t.Errorf("A-1 drift %+v, want closed expected, free found", d)
		}
		if d := got["B-1"]; d.Expected != "unknown" || d.Found != "closed" || d.Fixed {
			t.Errorf("B-1 drift %+v, want unknown expected, closed found", d)
		}
		if len(got) != 2 {
			t.Errorf("closure drift %+v, want A-1 and B-1 only", got)
		}
		if _, err := e.s.Check(ctx, true); err != nil {
			t.Fatal(err)
		}
		e.status("A-1", occupancy.StatusClosed) // and no drift left
		e.status("B-1", occupancy.StatusUnknown)
	})
}

// TestReopenDueOnSeveralInstances runs ReopenDue from two stores on the
// same Redis at once: every due closure is opened exactly once.
func TestReopenDueOnSeveralInstances(t *testing.T) {
	rdb := storetest.Backends[0].Start(t)
	e := newClosureEnv(t, rdb)
	other := newStore(t, rdb, e.clk)
	for _, id := range []string{"A-1", "A-2", "B-1"} {
		e.closeSpace(id, "works", t0.Add(10*time.Minute))
	}
	if _, err := e.s.CloseZone(context.Background(), "B", occupancy.Closure{Reason: "x", Until: t0.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	e.clk.now = t0.Add(10 * time.Minute)
	counts := make(chan int, 8)
	for range 4 {
		for _, s := range []*redisstore.Store{e.s, other} {
			go func() {
				n, err := s.ReopenDue(context.Background())
				if err != nil {
					t.Error(err)
				}
				counts <- n
			}()
		}
	}
	total := 0
	for range 8 {
		total += <-counts
	}
	if total != 4 {
		t.Fatalf("closures opened %d times in all, want 4 (A-1, A-2, B-1, zone B)", total)
	}
	for _, id := range []string{"A-1", "A-2", "B-1", "B-2"} {
		e.status(id, occupancy.StatusUnknown) // never heard from; counters and check clean
	}
}
