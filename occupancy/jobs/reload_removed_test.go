package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// TestReloadRemovedSpacesTakeTheirState: a removed space's closure ends,
// its open incident is resolved by the system with a note saying why (and
// stays in the incident history), its condition is forgotten, and the
// check finds nothing; restored by a later reload it starts clean: unknown,
// no closure, no condition, so a new incident can open.
func TestReloadRemovedSpacesTakeTheirState(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := storetest.NewClock(storetest.T0)
		s, reg := newStore(t, rdb, clk)
		storetest.MustApply(t, s, storetest.Reading("S2", true, storetest.T0, 1), occupancy.ResultApplied)
		if _, err := s.CloseSpace(ctx, "A-2", occupancy.Closure{Reason: "works", Until: storetest.T0.Add(48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		inc := occupancy.Incident{ID: occupancy.IncidentID(occupancy.IncidentOverstay, "A-2", storetest.T0),
			Type: occupancy.IncidentOverstay, SpaceID: "A-2", ZoneID: "A", Status: occupancy.IncidentOpen,
			OpenedAt: storetest.T0, Start: storetest.T0}
		if opened, err := s.OpenIncidents(ctx, "A", []occupancy.Incident{inc}); err != nil || len(opened) != 1 {
			t.Fatalf("open incident: %v %v", opened, err)
		}
		rl := storetest.Reloader(t, s, reg)
		job := storetest.Reload(t, rl, nextRegistry(t))
		if job.Result.ClosuresEnded != 1 || job.Result.IncidentsResolved != 1 {
			t.Errorf("job result %+v: want 1 closure ended, 1 incident resolved", job.Result)
		}
		got, err := s.Incidents(ctx, occupancy.IncidentFilter{ZoneID: "A"}, 10)
		if err != nil || len(got) != 1 || got[0].Status != occupancy.IncidentResolved ||
			got[0].ResolvedBy != occupancy.SystemActor || got[0].ResolveNote != redisstore.RemovedNote {
			t.Errorf("incidents after the reload: %+v %v, want A-2's resolved by the system", got, err)
		}
		if _, err := s.ResolveIncident(ctx, inc.ID, "staff", "again"); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("resolving the removed space's incident again: %v, want conflict (it is resolved), not not-found", err)
		}
		expectGone(t, rdb, "A-2")
		noDrift(t, s)

		clk.Add(time.Minute)
		storetest.Reload(t, rl, storetest.Registry(t)) // A-2 restored
		st, err := s.Space(ctx, "A-2")
		if err != nil || st.Status != occupancy.StatusUnknown || !st.Since.IsZero() {
			t.Errorf("restored A-2: %+v %v, want unknown, never heard from", st, err)
		}
		if _, ok, err := s.Closure(ctx, "A-2", false); ok || err != nil {
			t.Errorf("restored A-2 has a closure: %v", err)
		}
		if act, err := s.ActiveConditions(ctx, "A"); err != nil || len(act) != 0 {
			t.Errorf("active conditions of zone A: %v %v, want none", act, err)
		}
		noDrift(t, s)
	})
}

// expectGone fails the test if Redis holds anything of space id in zone A.
func expectGone(t *testing.T, rdb redis.UniversalClient, id string) {
	t.Helper()
	ctx := context.Background()
	for key, field := range map[string]string{"pk:{A}:s": id, "pk:{A}:closures": id, "pk:{A}:inc:active": "overstay|" + id} {
		if ok, err := rdb.HExists(ctx, key, field).Result(); err != nil || ok {
			t.Errorf("%s still holds %s (%v)", key, field, err)
		}
	}
	if err := rdb.ZScore(ctx, "pk:{A}:until", id).Err(); err != redis.Nil {
		t.Errorf("pk:{A}:until still holds %s (%v)", id, err)
	}
}
