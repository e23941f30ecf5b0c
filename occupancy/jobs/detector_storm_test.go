package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// instance returns the detector of another parkd instance: its own store
// of reg on rdb and its own detector (and change log).
func instance(t *testing.T, rdb redis.UniversalClient, reg *occupancy.Registry, clk *storetest.Clock, rules occupancy.HealthRules) *jobs.Detector {
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: clk.Now})
	if err != nil {
		t.Error(err)
		return nil
	}
	return newDetector(s, reg, clk, rules)
}

func TestConcurrentDetectorsOpenOneIncident(t *testing.T) {
	t0 := storetest.T0
	clk, reg := storetest.NewClock(t0), storetest.Registry(t)
	rdb := storetest.Backends[0].Start(t)
	s := storetest.NewStore(t, rdb, reg, clk.Now)
	storetest.MustApply(t, s, storetest.Reading("S1", true, t0, 1), occupancy.ResultApplied)
	clk.Set(t0.Add(2 * time.Hour)) // A-1 overstays; silent, but not offline by these rules
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			d := instance(t, rdb, reg, clk, occupancy.HealthRules{OfflineAfter: 3 * time.Hour})
			if d == nil {
				return
			}
			res, err := d.Detect(context.Background())
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

// TestDetectorOpensAStormOnce checks a pass that opens more incidents in
// one zone than one script call takes (every sensor of a 600-space zone
// silent): each opens once, however many detectors run at once, each is
// stored and has its event on the zone's stream, and the next pass opens
// none.
func TestDetectorOpensAStormOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx, t0 := context.Background(), storetest.T0
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
		clk := storetest.NewClock(t0)
		s := storetest.NewStore(t, rdb, reg, clk.Now)
		for i := range n {
			r := storetest.Reading(fmt.Sprintf("SZ%03d", i), i%2 == 0, t0, 1)
			storetest.MustApply(t, s, r, occupancy.ResultApplied)
		}
		clk.Set(t0.Add(2 * time.Hour))

		rules := occupancy.HealthRules{OfflineAfter: time.Hour}
		var mu sync.Mutex
		opened := map[string]int{}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				d := instance(t, rdb, reg, clk, rules)
				if d == nil {
					return
				}
				res, err := d.Detect(ctx)
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
		if again, _ := detect(t, newDetector(s, reg, clk, rules)); len(again) != 0 {
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
