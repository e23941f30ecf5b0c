package jobs_test

import (
	"context"
	"fmt"
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

func TestReload(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := storetest.NewClock(storetest.T0)
		reg := storetest.Registry(t)
		s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Init(ctx); err != nil {
			t.Fatal(err)
		}
		storetest.MustApply(t, s, storetest.Reading("S1", true, storetest.T0, 1), occupancy.ResultApplied)  // A-1 occupied, kept
		storetest.MustApply(t, s, storetest.Reading("S2", false, storetest.T0, 1), occupancy.ResultApplied) // A-2 free, removed
		storetest.MustApply(t, s, storetest.Reading("S5", false, storetest.T0, 1), occupancy.ResultApplied) // B-1 free, changed
		storetest.MustApply(t, s, storetest.Reading("S6", true, storetest.T0, 1), occupancy.ResultApplied)  // B-2 occupied, moves zone

		rep, err := reloader(s, reg, 10*time.Millisecond).Reload(ctx, nextRegistry(t))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(rep.Added, rep.Removed, rep.Changed, rep.Unchanged, rep.Spaces, rep.Zones)
		if want := "[A-5 B-2] [A-2 B-2] [B-1] 3 6 2"; got != want {
			t.Errorf("report %s, want %s", got, want)
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
		rc, err := s.Check(ctx, false)
		if err != nil || len(rc.Drift) != 0 {
			t.Errorf("check after reload: %+v %v", rc.Drift, err)
		}
		near, err := s.Nearby(ctx, occupancy.NearbyQuery{Lat: 29.859, Lon: 121.64, RadiusM: 50, Limit: 10, Kind: occupancy.KindEV})
		if err != nil || len(near) != 1 || near[0].Space.ID != "B-1" {
			t.Errorf("nearby EV after reload: %+v %v, want B-1", near, err)
		}

		again, err := reloader(s, reg, 10*time.Millisecond).Reload(ctx, nextRegistry(t))
		if err != nil || len(again.Added)+len(again.Removed)+len(again.Changed) != 0 || again.Unchanged != 6 {
			t.Errorf("reloading the same registry: %+v %v", again, err)
		}

		z := []occupancy.Zone{{ID: "C", Name: "新区", Type: occupancy.OnStreet, Lat: 29.85, Lon: 121.64}}
		other, _ := occupancy.NewRegistry(append(reg.Zones()[:2:2], z...), reg.Spaces())
		if _, err := reloader(s, reg, 10*time.Millisecond).Reload(ctx, other); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("a new zone: %v, want conflict", err)
		}
	})
}

// TestReloadWhileApplying swaps the registry back and forth while readings
// of kept, removed and added sensors are applied (run with -race): the
// counters always add up and the end state holds only registry spaces.
func TestReloadWhileApplying(t *testing.T) {
	ctx := context.Background()
	reg := storetest.Registry(t)
	clk := storetest.NewClock(storetest.T0)
	s, err := redisstore.New(redisstore.Options{Client: storetest.Backends[0].Start(t), Registry: reg, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := range 2000 {
			sensor := []string{"S1", "S2", "S7", "S5"}[k%4]
			if _, err := s.Apply(ctx, storetest.Reading(sensor, k%3 == 0, storetest.T0.Add(time.Duration(k)*time.Millisecond), uint64(k))); err != nil {
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
		if _, err := reloader(s, reg, 5*time.Millisecond).Reload(ctx, next); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
			if _, err := reloader(s, reg, 5*time.Millisecond).Reload(ctx, nextRegistry(t)); err != nil {
				t.Fatal(err)
			}
			storetest.CheckCounters(t, s, reg)
			if rc, err := s.Check(ctx, false); err != nil || len(rc.Drift) != 0 {
				t.Errorf("check: %+v %v", rc.Drift, err)
			}
			return
		default:
		}
	}
}

// TestReloadRepairsLateApplies: readings applied with the old registry after
// Reload's first pass (another instance, or an apply whose caller gave up
// while its script was on the way) are undone by the second pass: the
// removed A-2 is retired again and B-1, now an EV bay, is in no free set
// once occupied (the old registry's apply took it out of the standard set
// only). The wait before the second pass is long, and cut short by the
// reload's context once the late applies are in, so a slow machine cannot
// run the second pass before them.
func TestReloadRepairsLateApplies(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx, endWait := context.WithCancel(context.Background())
		defer endWait()
		clk := storetest.NewClock(storetest.T0)
		reg := storetest.Registry(t)
		s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Init(ctx); err != nil {
			t.Fatal(err)
		}
		old, err := redisstore.New(redisstore.Options{Client: rdb, Registry: storetest.Registry(t), Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		storetest.MustApply(t, s, storetest.Reading("S5", false, storetest.T0, 1), occupancy.ResultApplied) // B-1 free, becomes EV
		storetest.MustApply(t, s, storetest.Reading("S2", true, storetest.T0, 1), occupancy.ResultApplied)  // A-2 occupied, removed

		done := make(chan error, 1)
		go func() { _, err := reloader(s, reg, time.Hour).Reload(ctx, nextRegistry(t)); done <- err }()
		var firstPass time.Time
		for deadline := time.Now().Add(10 * time.Second); firstPass.IsZero(); time.Sleep(time.Millisecond) {
			if err := rdb.ZScore(ctx, "pk:{B}:free:ev", "B-1").Err(); err == nil {
				firstPass = time.Now()
			} else if err != redis.Nil || time.Now().After(deadline) {
				t.Fatalf("B-1 never reached the EV free set: %v", err)
			}
		}
		storetest.MustApply(t, old, storetest.Reading("S5", true, storetest.T0.Add(time.Second), 2), occupancy.ResultApplied)
		storetest.MustApply(t, old, storetest.Reading("S2", false, storetest.T0.Add(time.Second), 2), occupancy.ResultApplied)
		endWait() // the second pass now
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		storetest.CheckCounters(t, s, reg)
		if rc, err := s.Check(context.Background(), false); err != nil || len(rc.Drift) != 0 {
			t.Errorf("check: %+v %v", rc.Drift, err)
		}
		if _, err := s.Space(ctx, "A-2"); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
			t.Errorf("A-2 re-created by a late apply: %v, want not found", err)
		}
	})
}

// reloader is a Reloader of s's registry reg, retiring again grace after
// its first pass.
func reloader(s *redisstore.Store, reg *occupancy.Registry, grace time.Duration) *jobs.Reloader {
	return jobs.NewReloader(jobs.ReloaderOptions{Store: s, Registry: reg, RetireGrace: grace})
}
