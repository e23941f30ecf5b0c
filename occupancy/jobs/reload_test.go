package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// nextRegistry is testRegistry's next phase: A-2 removed, B-1 an EV bay 5 m
// further, B-2 moved to zone A, a new A-5; unchanged.
func nextRegistry(t *testing.T) *occupancy.Registry {
	t.Helper()
	cur := storetest.Registry(t)
	var spaces []occupancy.Space
	for _, sp := range cur.Spaces() {
		switch sp.ID {
		case "A-2":
			continue
		case "B-1":
			sp.Kind, sp.Lat = occupancy.KindEV, sp.Lat+5.0/111320
		case "B-2":
			sp.ZoneID = "A"
		}
		spaces = append(spaces, sp)
	}
	spaces = append(spaces, occupancy.Space{ID: "A-5", ZoneID: "A", SensorID: "S7", Lat: 29.8501, Lon: 121.6401,
		Kind: occupancy.KindStandard})
	reg, err := occupancy.NewRegistry(cur.Zones(), spaces)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// newStore is an initialised store of a fresh storetest.Registry on rdb.
func newStore(t *testing.T, rdb redis.UniversalClient, clk *storetest.Clock) (*redisstore.Store, *occupancy.Registry) {
	t.Helper()
	reg := storetest.Registry(t)
	return storetest.NewStore(t, rdb, reg, clk.Now), reg
}

// noDrift fails the test if the check finds any drift (orphans included).
func noDrift(t *testing.T, s *redisstore.Store) {
	t.Helper()
	if rc, err := s.Check(context.Background(), false); err != nil || len(rc.Drift) != 0 {
		t.Errorf("check: %+v %v", rc.Drift, err)
	}
}

func TestReload(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := storetest.NewClock(storetest.T0)
		s, reg := newStore(t, rdb, clk)
		storetest.MustApply(t, s, storetest.Reading("S1", true, storetest.T0, 1), occupancy.ResultApplied)  // A-1 occupied, kept
		storetest.MustApply(t, s, storetest.Reading("S2", false, storetest.T0, 1), occupancy.ResultApplied) // A-2 free, removed
		storetest.MustApply(t, s, storetest.Reading("S5", false, storetest.T0, 1), occupancy.ResultApplied) // B-1 free, changed
		storetest.MustApply(t, s, storetest.Reading("S6", true, storetest.T0, 1), occupancy.ResultApplied)  // B-2 occupied, moves zone
		rl := storetest.Reloader(t, s, reg)

		plan, err := rl.Plan(ctx, nextRegistry(t))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(plan.Added, plan.Removed, plan.Changed, plan.Unchanged, plan.Spaces, plan.Zones, plan.ByZone,
			plan.Stored, plan.Deletes, plan.DeletesByZone, plan.ConfirmNeeded)
		if want := "[A-5 B-2] [A-2 B-2] [B-1] 3 6 2 map[A:{2 1 0 3} B:{0 1 1 0}] 6 2 map[A:1 B:1] true"; got != want {
			t.Errorf("plan %s, want %s", got, want)
		}
		if _, ok := reg.Space("A-5"); ok {
			t.Error("a plan changed the registry")
		}
		_, err = rl.Start(ctx, nextRegistry(t), 0, false)
		if occupancy.ErrorCode(err) != occupancy.ECONFLICT || !strings.Contains(err.Error(), "confirm_remove=2") ||
			!strings.Contains(err.Error(), "A 1, B 1") {
			t.Errorf("removing 2 of 6 without confirm_remove: %v, want a conflict naming it", err)
		}
		if _, err = rl.Start(ctx, nextRegistry(t), 3, true); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("confirm_remove=3 for 2: %v, want a conflict", err)
		}
		job := storetest.Reload(t, rl, nextRegistry(t))
		if r := job.Result; r.Created != 2 || r.Deleted != 2 || job.Diff == nil || job.Diff.Counts.Added != 2 {
			t.Errorf("job %+v", job)
		}
		if _, ok := reg.Space("A-5"); !ok {
			t.Error("the registry the store was built with does not see the new space")
		}
		for id, want := range map[string]occupancy.Status{"A-1": occupancy.StatusOccupied, "A-5": occupancy.StatusUnknown,
			"B-1": occupancy.StatusFree, "B-2": occupancy.StatusUnknown} {
			if st, err := s.Space(ctx, id); err != nil || st.Status != want {
				t.Errorf("%s: %+v %v, want %s", id, st.Status, err, want)
			}
		}
		if _, err := s.Space(ctx, "A-2"); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
			t.Errorf("retired A-2: %v, want not found", err)
		}
		storetest.MustApply(t, s, storetest.Reading("S2", true, storetest.T0.Add(time.Second), 2), occupancy.ResultUnknownSensor)
		counts := storetest.CheckCounters(t, s, reg)
		if a, b := counts["A"], counts["B"]; a != (occupancy.Counts{Total: 5, Occupied: 1, Unknown: 4}) ||
			b != (occupancy.Counts{Total: 1, Free: 1}) {
			t.Errorf("counters A %+v, B %+v", a, b)
		}
		noDrift(t, s)
		near, err := s.Nearby(ctx, occupancy.NearbyQuery{Lat: 29.859, Lon: 121.64, RadiusM: 50, Limit: 10, Kind: occupancy.KindEV})
		if err != nil || len(near) != 1 || near[0].Space.ID != "B-1" {
			t.Errorf("nearby EV after reload: %+v %v, want B-1", near, err)
		}
		if rec, err := s.RegistryRecord(ctx); err != nil || rec.Version != reg.Version() || rec.Target != "" {
			t.Errorf("record %+v %v, want version %s in force", rec, err, reg.Version())
		}

		again := storetest.Reload(t, rl, nextRegistry(t))
		if again.Result != (occupancy.ReloadResult{}) || again.Diff.Counts != (occupancy.ReloadCounts{Unchanged: 6}) {
			t.Errorf("reloading the same registry: %+v %+v", again.Result, again.Diff)
		}
		z := []occupancy.Zone{{ID: "C", Name: "新区", Type: occupancy.OnStreet, Lat: 29.85, Lon: 121.64}}
		other, _ := occupancy.NewRegistry(append(reg.Zones()[:2:2], z...), reg.Spaces())
		if _, err := rl.Start(ctx, other, 0, false); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("a new zone: %v, want conflict", err)
		}
	})
}

// TestReloadGuardRefusesAnEmptyRegistry: a registry without spaces (a
// header-only spaces.csv) would delete every state: refused, saying what
// it would delete, unless confirmed with that number.
func TestReloadGuardRefusesAnEmptyRegistry(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(storetest.T0)
	s, reg := newStore(t, storetest.Backends[0].Start(t), clk)
	storetest.MustApply(t, s, storetest.Reading("S1", true, storetest.T0, 1), occupancy.ResultApplied)
	empty, err := occupancy.NewRegistry(reg.Zones(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rl := storetest.Reloader(t, s, reg)
	_, err = rl.Start(ctx, empty, 0, false)
	if occupancy.ErrorCode(err) != occupancy.ECONFLICT || !strings.Contains(err.Error(), "deletes 6 of the 6 stored spaces (100.0%)") ||
		!strings.Contains(err.Error(), "A 4, B 2") {
		t.Fatalf("empty registry: %v, want a conflict naming what it deletes", err)
	}
	if st, err := s.Space(ctx, "A-1"); err != nil || st.Status != occupancy.StatusOccupied {
		t.Errorf("A-1 after the refused reload: %+v %v", st, err)
	}
	if rec, _ := s.RegistryRecord(ctx); rec.Target != "" {
		t.Errorf("a refused reload left a target: %+v", rec)
	}
	job := storetest.Reload(t, rl, empty) // confirm_remove=6
	if job.Result.Deleted != 6 {
		t.Errorf("confirmed: %+v", job.Result)
	}
	noDrift(t, s)
}

// TestReloadWhileApplying swaps the registry back and forth while readings
// of kept, removed and added sensors are applied (run with -race): the
// counters always add up and the end state holds only registry spaces.
func TestReloadWhileApplying(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(storetest.T0)
	s, reg := newStore(t, storetest.Backends[0].Start(t), clk)
	rl := storetest.Reloader(t, s, reg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := range 2000 {
			sensor := []string{"S1", "S2", "S7", "S5"}[k%4]
			_, err := s.Apply(ctx, storetest.Reading(sensor, k%3 == 0, storetest.T0.Add(time.Duration(k)*time.Millisecond), uint64(k)))
			if err != nil && occupancy.ErrorCode(err) != occupancy.ECONFLICT { // fenced between swap and fence: retried by ingest
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; ; i++ {
		next := nextRegistry(t)
		if i%2 == 1 {
			next = storetest.Registry(t)
		}
		storetest.Reload(t, rl, next)
		select {
		case <-done:
			storetest.Reload(t, rl, nextRegistry(t))
			storetest.CheckCounters(t, s, reg)
			noDrift(t, s)
			return
		default:
		}
	}
}

// TestReloadFencesOldRegistries: once a reload has fenced the zones, a
// store holding the old registry (another instance not yet following, or
// an apply whose caller gave up while its script was on the way) can
// neither re-create a removed space nor put a changed one in its old free
// set: its applies and closures are refused (ECONFLICT, so ingest retries
// them, unacknowledged), and its check may report but not repair.
func TestReloadFencesOldRegistries(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := storetest.NewClock(storetest.T0)
		s, reg := newStore(t, rdb, clk)
		old := storetest.NewStore(t, rdb, storetest.Registry(t), clk.Now)
		storetest.MustApply(t, s, storetest.Reading("S2", true, storetest.T0, 1), occupancy.ResultApplied)
		storetest.Reload(t, storetest.Reloader(t, s, reg), nextRegistry(t))

		if _, err := old.Apply(ctx, storetest.Reading("S2", false, storetest.T0.Add(time.Second), 2)); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("old registry's apply of a removed space: %v, want a conflict", err)
		}
		if _, err := old.Apply(ctx, storetest.Reading("S5", false, storetest.T0.Add(time.Second), 2)); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("old registry's apply of a changed space: %v, want a conflict", err)
		}
		if _, err := old.CloseZone(ctx, "A", occupancy.Closure{Reason: "market"}); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("old registry's zone closure: %v, want a conflict", err)
		}
		if _, err := old.Check(ctx, true); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("old registry's repair: %v, want a conflict", err)
		}
		if _, err := s.Space(ctx, "A-2"); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
			t.Errorf("A-2 re-created by an old registry's apply: %v", err)
		}
		storetest.MustApply(t, s, storetest.Reading("S5", false, storetest.T0.Add(time.Second), 2), occupancy.ResultApplied)
		noDrift(t, s)
	})
}

// reloaderOf is a Reloader of s's registry reg whose Run is not started.
func reloaderOf(s *redisstore.Store, reg *occupancy.Registry) *jobs.Reloader {
	return jobs.NewReloader(jobs.ReloaderOptions{Store: s, Registry: reg, Instance: "test"})
}
