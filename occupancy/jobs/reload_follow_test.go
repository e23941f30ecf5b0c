package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
)

// TestReloadIsFollowedByOtherInstances: a reload run on one instance is
// followed by another whose files hold the new registry (it swaps within a
// look at the record); an instance whose files are stale says so (its
// readiness check) and its writes are fenced off.
func TestReloadIsFollowedByOtherInstances(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(storetest.T0)
	rdb := storetest.Backends[0].Start(t)
	s0, reg0 := newStore(t, rdb, clk)
	s1, reg1 := newStore(t, rdb, clk)
	s2, reg2 := newStore(t, rdb, clk)
	rl0 := storetest.Reloader(t, s0, reg0, func(o *jobs.ReloaderOptions) { o.Instance = "parkd-0" })
	rl1 := storetest.Reloader(t, s1, reg1, func(o *jobs.ReloaderOptions) {
		o.Instance = "parkd-1"
		o.Load = func() (*occupancy.Registry, error) { return nextRegistry(t), nil } // its folder was updated
	})
	rl2 := storetest.Reloader(t, s2, reg2, func(o *jobs.ReloaderOptions) {
		o.Instance = "parkd-2"
		o.Load = func() (*occupancy.Registry, error) { return storetest.Registry(t), nil } // its folder was not
	})
	for _, rl := range []*jobs.Reloader{rl0, rl1, rl2} {
		<-rl.Usable()
	}
	storetest.Reload(t, rl0, nextRegistry(t))
	want := nextRegistry(t).Version()
	storetest.Eventually(t, 10*time.Second, func() string {
		if reg1.Version() != want {
			return "parkd-1 has not followed"
		}
		if !strings.Contains(rl2.Problem(), "not the registry in force") {
			return "parkd-2 says nothing: " + rl2.Problem()
		}
		return ""
	})
	if rl1.Problem() != "" {
		t.Errorf("parkd-1: %s", rl1.Problem())
	}
	storetest.MustApply(t, s1, storetest.Reading("S7", true, storetest.T0, 1), occupancy.ResultApplied) // A-5, new
	if _, err := s2.Apply(ctx, storetest.Reading("S2", true, storetest.T0, 1)); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
		t.Errorf("parkd-2's apply with the stale registry: %v, want fenced", err)
	}
	noDrift(t, s0)
}

// TestStartWithOtherFilesWaits: a parkd started with registry files that
// are not the ones in force does not use them (Usable stays open, Problem
// says why) until a reload puts them in force.
func TestStartWithOtherFilesWaits(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(storetest.T0)
	rdb := storetest.Backends[0].Start(t)
	s0, reg0 := newStore(t, rdb, clk)
	<-storetest.Reloader(t, s0, reg0).Usable() // records reg0's version as in force

	next := nextRegistry(t)
	s1 := storetest.NewStore(t, rdb, next, clk.Now)
	rl := storetest.Reloader(t, s1, next, func(o *jobs.ReloaderOptions) { o.Instance = "parkd-1" })
	storetest.Eventually(t, 10*time.Second, func() string {
		if !strings.Contains(rl.Problem(), "POST /api/v1/admin/registry/reload") {
			return "no problem said: " + rl.Problem()
		}
		return ""
	})
	select {
	case <-rl.Usable():
		t.Fatal("usable with registry files that are not in force")
	default:
	}
	job, err := rl.Start(ctx, next, 0, false)
	if occupancy.ErrorCode(err) != occupancy.ECONFLICT || !strings.Contains(err.Error(), "confirm_remove=2") {
		t.Fatalf("reload of the other files without confirm: %+v %v", job, err)
	}
	storetest.Reload(t, rl, next)
	<-rl.Usable()
	if p := rl.Problem(); p != "" {
		t.Errorf("problem after the reload: %s", p)
	}
	noDrift(t, s1)
}

// TestReloadOnCluster: the reload's record, fence, scans and scripts work
// on a 3-master Redis Cluster (every zone's keys in their slot, the record
// in its own), with zones on every master.
func TestReloadOnCluster(t *testing.T) {
	clk := storetest.NewClock(storetest.T0)
	reg := storetest.ClusterRegistry(t)
	s := storetest.NewStore(t, testenv.MustStartRedisCluster(t, 3).Client(t), reg, clk.Now)
	storetest.MustApply(t, s, storetest.Reading("S7", false, storetest.T0, 1), occupancy.ResultApplied) // C-1 free, removed
	var spaces []occupancy.Space
	for _, sp := range reg.Spaces() {
		if sp.ID != "C-1" {
			spaces = append(spaces, sp)
		}
	}
	spaces = append(spaces, occupancy.Space{ID: "D-2", ZoneID: "D", SensorID: "S9", Lat: 29.8561, Lon: 121.639,
		Kind: occupancy.KindStandard})
	next, err := occupancy.NewRegistry(reg.Zones(), spaces)
	if err != nil {
		t.Fatal(err)
	}
	job := storetest.Reload(t, storetest.Reloader(t, s, reg), next)
	if job.Result.Created != 1 || job.Result.Deleted != 1 || job.Result.Reindexed != 1 {
		t.Errorf("job result %+v", job.Result)
	}
	noDrift(t, s)
	if rec, err := s.RegistryRecord(context.Background()); err != nil || rec.Version != next.Version() {
		t.Errorf("record %+v %v", rec, err)
	}
}
