package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// healthOf returns the SensorHealth of one space.
func healthOf(t *testing.T, s *redisstore.Store, zone, space string) occupancy.SensorHealth {
	t.Helper()
	hs, err := s.SensorHealth(context.Background(), zone)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.State.SpaceID == space {
			return h
		}
	}
	t.Fatalf("no sensor health for %s", space)
	return occupancy.SensorHealth{}
}

// TestSensorHealthCountsEachChangeOfABatch: a batch's readings of one zone
// are one stream entry of several changes (a space may change more than
// once in it); each counts, for SensorHealth and for the detector's log.
func TestSensorHealthCountsEachChangeOfABatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		var rs []occupancy.Reading
		for i := range 5 { // occupied, free, occupied, free, occupied
			rs = append(rs, reading("S2", i%2 == 0, t0.Add(time.Duration(i)*time.Second), uint64(i)))
		}
		rs = append(rs, reading("S3", true, t0, 1), reading("S3", true, t0.Add(time.Second), 2)) // one change, then none
		if _, errs := s.ApplyBatch(context.Background(), rs); errors.Join(errs...) != nil {
			t.Fatal(errors.Join(errs...))
		}
		entries, err := rdb.XLen(context.Background(), "pk:{A}:ev").Result()
		if err != nil || entries != 1 {
			t.Fatalf("zone A's stream has %d entries (%v), want the batch's one", entries, err)
		}
		for space, want := range map[string]int{"A-2": 5, "A-3": 1, "A-1": 0} {
			if h := healthOf(t, s, "A", space); h.ChangesLastHour != want {
				t.Errorf("%s changes in the last hour: %d, want %d", space, h.ChangesLastHour, want)
			}
		}
	})
}

func TestSensorHealthCountsChangesInTheLastHour(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		// A-2 changes status 12 times in 12 minutes; a repeated status is no change.
		for i := range 12 {
			clk.now = t0.Add(time.Duration(i) * time.Minute)
			mustApply(t, s, reading("S2", i%2 == 0, clk.now, uint64(2*i)), occupancy.ResultApplied)
			mustApply(t, s, reading("S2", i%2 == 0, clk.now.Add(time.Second), uint64(2*i+1)), occupancy.ResultApplied)
		}
		low := reading("S3", false, clk.now, 1)
		low.BatteryMV = 2800
		mustApply(t, s, low, occupancy.ResultApplied)
		rules := s.HealthRules()

		h := healthOf(t, s, "A", "A-2")
		if h.ChangesLastHour != 12 {
			t.Errorf("A-2 changes in the last hour: %d, want 12", h.ChangesLastHour)
		}
		if got := rules.Problems(h, clk.now); len(got) != 1 || got[0] != occupancy.HealthFlapping {
			t.Errorf("A-2 problems %v, want [flapping]", got)
		}
		h3 := healthOf(t, s, "", "A-3")
		if got := rules.Problems(h3, clk.now); len(got) != 1 || got[0] != occupancy.HealthLowBattery || h3.State.BatteryMV != 2800 {
			t.Errorf("A-3 problems %v battery %d, want [low_battery] 2800", got, h3.State.BatteryMV)
		}
		// 61 minutes after the first change only the last 11 count; after 2 h none.
		clk.now = t0.Add(61 * time.Minute)
		if h := healthOf(t, s, "A", "A-2"); h.ChangesLastHour != 11 {
			t.Errorf("A-2 changes at t0+61m: %d, want 11 (changes at t0+1m..t0+11m)", h.ChangesLastHour)
		}
		clk.now = t0.Add(2 * time.Hour)
		h = healthOf(t, s, "A", "A-2")
		if h.ChangesLastHour != 0 {
			t.Errorf("A-2 changes after 2 h: %d, want 0", h.ChangesLastHour)
		}
		if got := rules.Problems(h, clk.now); len(got) != 1 || got[0] != occupancy.HealthOffline {
			t.Errorf("A-2 silent for 109 min: problems %v, want [offline]", got)
		}
		if _, err := s.SensorHealth(context.Background(), "NOPE"); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
			t.Errorf("unknown zone: %v, want not_found", err)
		}
	})
}

// detect runs one detection pass and returns the ids it opened and resolved.
func detect(t *testing.T, s *redisstore.Store) (opened, resolved []string) {
	t.Helper()
	res, err := s.DetectIncidents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range res.Opened {
		opened = append(opened, inc.ID)
	}
	return opened, res.Resolved
}

func TestOverstayIncidentLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied) // max 60 min
		mustApply(t, s, reading("S2", true, t0, 1), occupancy.ResultApplied) // no limit

		clk.now = t0.Add(59 * time.Minute)
		mustApply(t, s, reading("S1", true, clk.now, 2), occupancy.ResultApplied) // heartbeat: still the same stay
		mustApply(t, s, reading("S2", true, clk.now, 2), occupancy.ResultApplied)
		if opened, _ := detect(t, s); len(opened) != 0 {
			t.Fatalf("opened %v within the limit", opened)
		}
		clk.now = t0.Add(61 * time.Minute)
		opened, _ := detect(t, s)
		want := occupancy.IncidentID(occupancy.IncidentOverstay, "A-1", t0)
		if len(opened) != 1 || opened[0] != want {
			t.Fatalf("opened %v, want [%s]", opened, want)
		}
		if again, _ := detect(t, s); len(again) != 0 {
			t.Fatalf("second pass opened %v: a duplicate", again)
		}

		inc, err := s.AckIncident(ctx, want, "operator:ab12", "warden sent")
		if err != nil || inc.Status != occupancy.IncidentAcknowledged || inc.AcknowledgedBy != "operator:ab12" ||
			inc.AckNote != "warden sent" || !inc.AcknowledgedAt.Equal(clk.now) {
			t.Fatalf("ack: %+v, %v", inc, err)
		}
		clk.now = clk.now.Add(time.Minute)
		if inc, err = s.ResolveIncident(ctx, want, "operator:ab12", "ticket issued"); err != nil ||
			inc.Status != occupancy.IncidentResolved || inc.ResolveNote != "ticket issued" || !inc.ResolvedAt.Equal(clk.now) {
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
		if opened, _ := detect(t, s); len(opened) != 0 {
			t.Fatalf("the same stay reopened after staff resolved it: %v", opened)
		}

		// A new stay past the limit is a new incident; it resolves itself when the car leaves.
		clk.now = t0.Add(70 * time.Minute)
		mustApply(t, s, reading("S1", false, clk.now, 3), occupancy.ResultApplied)
		if _, resolved := detect(t, s); len(resolved) != 0 {
			t.Errorf("resolved %v: the incident was resolved by staff already", resolved)
		}
		stay := t0.Add(71 * time.Minute)
		clk.now = stay
		mustApply(t, s, reading("S1", true, stay, 4), occupancy.ResultApplied)
		clk.now = stay.Add(61 * time.Minute)
		mustApply(t, s, reading("S1", true, clk.now, 5), occupancy.ResultApplied)
		mustApply(t, s, reading("S2", true, clk.now, 5), occupancy.ResultApplied)
		second := occupancy.IncidentID(occupancy.IncidentOverstay, "A-1", stay)
		if opened, _ := detect(t, s); len(opened) != 1 || opened[0] != second {
			t.Fatalf("new stay: opened %v, want [%s]", opened, second)
		}
		mustApply(t, s, reading("S1", false, clk.now, 6), occupancy.ResultApplied)
		if _, resolved := detect(t, s); len(resolved) != 1 || resolved[0] != second {
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
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		low := reading("S5", false, t0, 1)
		low.BatteryMV = 2900
		mustApply(t, s, low, occupancy.ResultApplied)
		for i := range 10 { // received at t0: last seen is the receive time
			mustApply(t, s, reading("S6", i%2 == 0, t0.Add(time.Duration(i)*time.Second), uint64(i)), occupancy.ResultApplied)
		}
		opened, _ := detect(t, s)
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
		clk.now = t0.Add(31 * time.Minute)
		opened, _ = detect(t, s)
		if len(opened) != 2 {
			t.Fatalf("after 31 min of silence opened %v, want offline at B-1 and B-2", opened)
		}
		// B-1 reports a new battery and is heard again: offline and low battery resolve themselves.
		ok := reading("S5", false, clk.now, 2)
		ok.BatteryMV = 3600
		mustApply(t, s, ok, occupancy.ResultApplied)
		// At t0+62m B-2's changes are over an hour old: flapping clears. B-1,
		// silent again since t0+31m, is a new offline condition (opened on the
		// next pass); its first one resolves.
		clk.now = t0.Add(62 * time.Minute)
		_, resolved := detect(t, s)
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

func TestConcurrentDetectorsOpenOneIncident(t *testing.T) {
	clk := &clock{now: t0}
	rdb := backends[0].start(t)
	s := newStore(t, rdb, clk)
	mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied)
	clk.now = t0.Add(2 * time.Hour)
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			other, err := redisstore.New(redisstore.Options{Client: rdb, Registry: testRegistry(t), Now: clk.Now,
				Health: occupancy.HealthRules{OfflineAfter: 3 * time.Hour}})
			if err != nil {
				t.Error(err)
				return
			}
			res, err := other.DetectIncidents(context.Background())
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += len(res.Opened)
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 1 {
		t.Fatalf("4 concurrent detectors opened %d incidents, want 1", total)
	}
}

// TestSensorHealthCountsOnlyOccupancyChanges checks that the changes read
// from the event stream are the apply script's free/occupied flips: a sweep
// to unknown, a closure and its reopening are none; and that Init drops the
// change log and the last-seen set older versions kept.
func TestSensorHealthCountsOnlyOccupancyChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		for _, key := range []string{"pk:{A}:chg", "pk:{A}:seen"} {
			if err := rdb.ZAdd(ctx, key, redis.Z{Score: 1, Member: "A-1|1"}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		if n, err := rdb.Exists(ctx, "pk:{A}:chg", "pk:{A}:seen").Result(); err != nil || n != 0 {
			t.Fatalf("old change log and last-seen set after Init: %d exist, %v; want both gone", n, err)
		}
		mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied)  // unknown -> occupied: 1
		mustApply(t, s, reading("S1", false, t0, 2), occupancy.ResultApplied) // -> free: 2
		mustApply(t, s, reading("S1", false, t0, 3), occupancy.ResultApplied) // same status: no change
		if _, err := s.CloseSpace(ctx, "A-1", occupancy.Closure{Reason: "works"}); err != nil {
			t.Fatal(err)
		}
		if err := s.OpenSpace(ctx, "A-1"); err != nil {
			t.Fatal(err)
		}
		clk.now = t0.Add(40 * time.Minute) // silent past OfflineAfter: swept to unknown
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1", n, err)
		}
		if h := healthOf(t, s, "A", "A-1"); h.ChangesLastHour != 2 {
			t.Errorf("A-1 changes: %d, want 2 (sweep and closure are no occupancy change)", h.ChangesLastHour)
		}
	})
}

// TestDetectorOpensAStormOnce checks a pass that opens more incidents in
// one zone than one script call takes (every sensor of a 600-space zone
// silent): each opens once, however many detectors run at once, each is
// stored and has its event on the zone's stream, and the next pass opens
// none.
func TestDetectorOpensAStormOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		const n = 600
		zones := []occupancy.Zone{{ID: "Z", Name: "Z", Type: occupancy.OffStreet, Lat: 29.85, Lon: 121.64}}
		var spaces []occupancy.Space
		for i := range n {
			spaces = append(spaces, occupancy.Space{ID: fmt.Sprintf("Z-%03d", i), ZoneID: "Z", SensorID: fmt.Sprintf("SZ%03d", i),
				Lat: 29.85 + float64(i)*1e-5, Lon: 121.64, Kind: occupancy.KindStandard})
		}
		reg, err := occupancy.NewRegistry(zones, spaces)
		if err != nil {
			t.Fatal(err)
		}
		clk := &clock{now: t0}
		newDetector := func() *redisstore.Store {
			s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: clk.Now,
				Health: occupancy.HealthRules{OfflineAfter: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		s := newDetector()
		if err := s.Init(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			mustApply(t, s, reading(fmt.Sprintf("SZ%03d", i), i%2 == 0, t0, 1), occupancy.ResultApplied)
		}
		clk.now = t0.Add(2 * time.Hour)

		var mu sync.Mutex
		opened := map[string]int{}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				res, err := newDetector().DetectIncidents(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, inc := range res.Opened {
					opened[inc.ID]++
				}
			})
		}
		wg.Wait()
		if len(opened) != n {
			t.Fatalf("3 detectors opened %d distinct incidents, want %d", len(opened), n)
		}
		for id, k := range opened {
			if k != 1 {
				t.Errorf("%s opened %d times", id, k)
			}
		}
		stored, err := s.Incidents(ctx, occupancy.IncidentFilter{Status: occupancy.IncidentOpen, ZoneID: "Z"}, 0)
		if err != nil || len(stored) != n {
			t.Fatalf("open incidents stored: %d, %v; want %d", len(stored), err, n)
		}
		for _, inc := range stored {
			if inc.Type != occupancy.IncidentOffline || opened[inc.ID] != 1 {
				t.Errorf("stored %s of type %s: not one the detectors opened", inc.ID, inc.Type)
			}
		}
		entries, err := rdb.XRange(ctx, "pk:{Z}:ev", "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		events := 0
		for _, e := range entries {
			if e.Values["t"] == string(occupancy.EventIncident) && opened[incidentOf(t, e.Values["d"])] == 1 {
				events++
			}
		}
		if events != n {
			t.Errorf("incident events on the stream: %d, want %d", events, n)
		}
		if again, _ := detect(t, s); len(again) != 0 {
			t.Errorf("the next pass opened %d incidents again", len(again))
		}
	})
}

// incidentOf returns the id of an incident event's JSON data.
func incidentOf(t *testing.T, data any) string {
	t.Helper()
	var inc occupancy.Incident
	s, _ := data.(string)
	if err := json.Unmarshal([]byte(s), &inc); err != nil {
		t.Fatalf("incident event data %q: %v", s, err)
	}
	return inc.ID
}
