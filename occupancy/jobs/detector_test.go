package jobs_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// newDetector returns a detector of reg over s on clk with rules.
func newDetector(s *redisstore.Store, reg *occupancy.Registry, clk *storetest.Clock, rules occupancy.HealthRules) *jobs.Detector {
	return jobs.NewDetector(jobs.DetectorOptions{Store: s, Registry: reg, Now: clk.Now, Rules: rules})
}

// detect makes one pass of d and returns the ids it opened and resolved.
func detect(t *testing.T, d *jobs.Detector) (opened, resolved []string) {
	t.Helper()
	res, err := d.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range res.Opened {
		opened = append(opened, inc.ID)
	}
	return opened, res.Resolved
}

func TestOverstayIncidentLifecycle(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx, t0 := context.Background(), storetest.T0
		clk, reg := storetest.NewClock(t0), storetest.Registry(t)
		s := storetest.NewStore(t, rdb, reg, clk.Now)
		d := newDetector(s, reg, clk, occupancy.HealthRules{})
		apply := func(sensor string, occupied bool, seq uint64) {
			storetest.MustApply(t, s, storetest.Reading(sensor, occupied, clk.Now(), seq), occupancy.ResultApplied)
		}
		apply("S1", true, 1) // max 60 min
		apply("S2", true, 1) // no limit

		clk.Set(t0.Add(59 * time.Minute))
		apply("S1", true, 2) // heartbeat: still the same stay
		apply("S2", true, 2)
		if opened, _ := detect(t, d); len(opened) != 0 {
			t.Fatalf("opened %v within the limit", opened)
		}
		clk.Set(t0.Add(61 * time.Minute))
		opened, _ := detect(t, d)
		want := occupancy.IncidentID(occupancy.IncidentOverstay, "A-1", t0)
		if len(opened) != 1 || opened[0] != want {
			t.Fatalf("opened %v, want [%s]", opened, want)
		}
		if again, _ := detect(t, d); len(again) != 0 {
			t.Fatalf("second pass opened %v: a duplicate", again)
		}

		inc, err := s.AckIncident(ctx, want, "operator:ab12", "warden sent")
		if err != nil || inc.Status != occupancy.IncidentAcknowledged || inc.AcknowledgedBy != "operator:ab12" ||
			inc.AckNote != "warden sent" || !inc.AcknowledgedAt.Equal(clk.Now()) {
			t.Fatalf("ack: %+v, %v", inc, err)
		}
		clk.Add(time.Minute)
		if inc, err = s.ResolveIncident(ctx, want, "operator:ab12", "ticket issued"); err != nil ||
			inc.Status != occupancy.IncidentResolved || inc.ResolveNote != "ticket issued" || !inc.ResolvedAt.Equal(clk.Now()) {
			t.Fatalf("resolve: %+v, %v", inc, err)
		}
		if _, err := s.ResolveIncident(ctx, want, "x", ""); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("resolve twice: %v, want conflict", err)
		}
		if _, err := s.AckIncident(ctx, want, "x", ""); occupancy.ErrorCode(err) != occupancy.ECONFLICT {
			t.Errorf("ack a resolved incident: %v, want conflict", err)
		}
		if _, err := s.AckIncident(ctx, "overstay.NOPE.1", "x", ""); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
			t.Errorf("ack an unknown incident: %v, want not_found", err)
		}
		if opened, _ := detect(t, d); len(opened) != 0 {
			t.Fatalf("the same stay reopened after staff resolved it: %v", opened)
		}

		// A new stay past the limit is a new incident; it resolves itself when the car leaves.
		clk.Set(t0.Add(70 * time.Minute))
		apply("S1", false, 3)
		if _, resolved := detect(t, d); len(resolved) != 0 {
			t.Errorf("resolved %v: the incident was resolved by staff already", resolved)
		}
		stay := t0.Add(71 * time.Minute)
		clk.Set(stay)
		apply("S1", true, 4)
		clk.Set(stay.Add(61 * time.Minute))
		apply("S1", true, 5)
		apply("S2", true, 5)
		second := occupancy.IncidentID(occupancy.IncidentOverstay, "A-1", stay)
		if opened, _ := detect(t, d); len(opened) != 1 || opened[0] != second {
			t.Fatalf("new stay: opened %v, want [%s]", opened, second)
		}
		apply("S1", false, 6)
		if _, resolved := detect(t, d); len(resolved) != 1 || resolved[0] != second {
			t.Fatalf("car left: resolved %v, want [%s]", resolved, second)
		}
		inc, err = s.Incident(ctx, second)
		if err != nil || inc.Status != occupancy.IncidentResolved || inc.ResolvedBy != occupancy.SystemActor {
			t.Fatalf("auto-resolved incident: %+v, %v", inc, err)
		}

		all, err := s.Incidents(ctx, occupancy.IncidentFilter{Type: occupancy.IncidentOverstay}, 0)
		if err != nil || len(all) != 2 || all[0].ID != second || all[1].ID != want {
			t.Fatalf("overstay incidents newest first: %+v, %v", all, err)
		}
		if open, _ := s.Incidents(ctx, occupancy.IncidentFilter{Status: occupancy.IncidentOpen}, 0); len(open) != 0 {
			t.Errorf("open incidents: %+v, want none", open)
		}
		if _, err := s.Incidents(ctx, occupancy.IncidentFilter{Status: "closed"}, 0); occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Errorf("bad status filter: %v, want invalid", err)
		}

		// Pruning deletes only what was resolved before the cutoff.
		if n, err := s.PruneIncidents(ctx, inc.ResolvedAt); err != nil || n != 1 {
			t.Errorf("prune before the second resolution: %d, %v; want 1 (the first)", n, err)
		}
		if _, err := s.Incident(ctx, want); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
			t.Errorf("pruned incident: %v, want not_found", err)
		}
		if _, err := s.Incident(ctx, second); err != nil {
			t.Errorf("kept incident: %v", err)
		}

		// Every transition is on the live feed, in order.
		msgs, err := rdb.XRange(ctx, "pk:{A}:ev", "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range msgs {
			if m.Values["t"] == string(occupancy.EventIncident) {
				got = append(got, m.Values["st"].(string)+" "+m.Values["s"].(string))
			}
		}
		if want := "open A-1,acknowledged A-1,resolved A-1,open A-1,resolved A-1"; strings.Join(got, ",") != want {
			t.Errorf("incident events %v, want %s", got, want)
		}
	})
}

func TestHealthIncidentsOpenAndClear(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx, t0 := context.Background(), storetest.T0
		clk, reg := storetest.NewClock(t0), storetest.Registry(t)
		s := storetest.NewStore(t, rdb, reg, clk.Now)
		d := newDetector(s, reg, clk, occupancy.HealthRules{})
		low := storetest.Reading("S5", false, t0, 1)
		low.BatteryMV = 2900
		storetest.MustApply(t, s, low, occupancy.ResultApplied)
		for i := range 10 { // received at t0: last seen is the receive time
			r := storetest.Reading("S6", i%2 == 0, t0.Add(time.Duration(i)*time.Second), uint64(i))
			storetest.MustApply(t, s, r, occupancy.ResultApplied)
		}
		opened, _ := detect(t, d)
		if len(opened) != 2 {
			t.Fatalf("opened %v, want low_battery at B-1 and flapping at B-2", opened)
		}
		byType := map[occupancy.IncidentType]string{}
		for _, id := range opened {
			typ, _, _, _ := occupancy.ParseIncidentID(id)
			byType[typ] = id
		}
		if byType[occupancy.IncidentLowBattery] == "" || byType[occupancy.IncidentFlapping] == "" {
			t.Fatalf("opened %v", opened)
		}

		// 31 min of silence: both sensors offline; low battery and flapping still hold.
		clk.Set(t0.Add(31 * time.Minute))
		if opened, _ = detect(t, d); len(opened) != 2 {
			t.Fatalf("after 31 min of silence opened %v, want offline at B-1 and B-2", opened)
		}
		// B-1 reports a new battery and is heard again: offline and low battery resolve themselves.
		ok := storetest.Reading("S5", false, clk.Now(), 2)
		ok.BatteryMV = 3600
		storetest.MustApply(t, s, ok, occupancy.ResultApplied)
		// At t0+62m B-2's changes are over an hour old: flapping clears. B-1,
		// silent again since t0+31m, is a new offline condition (opened on the
		// next pass); its first one resolves.
		clk.Set(t0.Add(62 * time.Minute))
		_, resolved := detect(t, d)
		want := map[string]bool{byType[occupancy.IncidentLowBattery]: true, byType[occupancy.IncidentFlapping]: true,
			occupancy.IncidentID(occupancy.IncidentOffline, "B-1", t0): true}
		if len(resolved) != 3 {
			t.Fatalf("resolved %v, want %v", resolved, want)
		}
		for _, id := range resolved {
			if !want[id] {
				t.Errorf("resolved %s, want %v", id, want)
			}
		}
		open, err := s.Incidents(ctx, occupancy.IncidentFilter{Status: occupancy.IncidentOpen}, 0)
		if err != nil || len(open) != 1 || open[0].ID != occupancy.IncidentID(occupancy.IncidentOffline, "B-2", t0) {
			t.Fatalf("open incidents %+v, %v: want B-2 offline only", open, err)
		}
	})
}

// TestChangeLogCountsAsAFullRead: what the detector counts of each space's
// changes in the last hour, reading only what each zone's stream gained
// since its last pass, equals what SensorHealth counts from a read of the
// whole window, as the clock moves on (changes leave the window) and after
// a zone's stream was trimmed past the position last read.
func TestChangeLogCountsAsAFullRead(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk, reg := storetest.NewClock(storetest.T0), storetest.Registry(t)
		s := storetest.NewStore(t, rdb, reg, clk.Now)
		d := newDetector(s, reg, clk, occupancy.HealthRules{})
		rng := rand.New(rand.NewPCG(1, 2))
		sensors := []string{"S1", "S2", "S3", "S4", "S5", "S6"}
		occupied := map[string]bool{}
		seq := uint64(0)
		flip := func(sensor string) {
			seq++
			occupied[sensor] = !occupied[sensor]
			storetest.MustApply(t, s, storetest.Reading(sensor, occupied[sensor], clk.Now(), seq), occupancy.ResultApplied)
		}
		compare := func(when string) {
			t.Helper()
			for _, zone := range []string{"A", "B"} {
				got, err := d.ChangesOfZone(ctx, zone)
				if err != nil {
					t.Fatal(err)
				}
				health, err := s.SensorHealth(ctx, zone)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]int{}
				for _, h := range health {
					if h.ChangesLastHour > 0 {
						want[h.State.SpaceID] = h.ChangesLastHour
					}
				}
				if !maps.Equal(got, want) {
					t.Fatalf("%s, zone %s: the detector counts %v, a full read %v", when, zone, got, want)
				}
			}
		}
		compare("empty streams")
		for step := range 30 {
			clk.Add(time.Duration(rng.IntN(8)) * time.Minute)
			for range rng.IntN(12) {
				flip(sensors[rng.IntN(len(sensors))])
			}
			compare(fmt.Sprint("step ", step))
		}
		// Zone B's stream is capped at 1000 entries: 1500 changes between
		// two passes trim it past the position read.
		for range 1500 {
			flip(sensors[4+rng.IntN(2)])
		}
		compare("after a trim")
		clk.Add(2 * time.Hour)
		compare("two hours later")
	})
}
