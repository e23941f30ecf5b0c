package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
)

// threeZones has zones A, B and C of one space each.
func threeZones(t *testing.T) *occupancy.Registry {
	t.Helper()
	var zones []occupancy.Zone
	var spaces []occupancy.Space
	for i, id := range []string{"A", "B", "C"} {
		z := occupancy.Zone{ID: id, Name: id, Type: occupancy.OnStreet, Lat: 29.85 + float64(i)*0.01, Lon: 121.64}
		zones = append(zones, z)
		spaces = append(spaces, occupancy.Space{ID: id + "-1", ZoneID: id, SensorID: "S" + id, Lat: z.Lat, Lon: z.Lon,
			Kind: occupancy.KindStandard})
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// incidents is an in-memory jobs.IncidentStore: every space is occupied
// and last heard at heard; it records when each zone's pass began and the
// prunes' cutoffs.
type incidents struct {
	mu       sync.Mutex
	heard    time.Time
	active   map[string]map[string]string // zone -> condition key -> incident id
	passes   []zoneCall                   // each zone's pass, in order
	cutoffs  []time.Time
	pruneErr error
}

type zoneCall struct {
	zone string
	at   time.Time // real time
}

func newIncidents(heard time.Time) *incidents {
	return &incidents{heard: heard, active: map[string]map[string]string{}}
}

func (f *incidents) setHeard(t time.Time) { f.mu.Lock(); defer f.mu.Unlock(); f.heard = t }

func (f *incidents) calls() []zoneCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]zoneCall(nil), f.passes...)
}

func (f *incidents) States(_ context.Context, spaces []occupancy.Space) ([]occupancy.SpaceState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]occupancy.SpaceState, len(spaces))
	for i, sp := range spaces {
		out[i] = occupancy.SpaceState{SpaceID: sp.ID, Status: occupancy.StatusOccupied, Since: storetest.T0, LastSeen: f.heard}
	}
	return out, nil
}

func (f *incidents) SensorChanges(context.Context, string, string, time.Time) ([]occupancy.SensorChange, string, bool, error) {
	return nil, occupancy.StartPosition, false, nil
}

func (f *incidents) ActiveConditions(_ context.Context, zone string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.passes = append(f.passes, zoneCall{zone, time.Now()})
	return maps.Clone(f.active[zone]), nil
}

func (f *incidents) OpenIncidents(_ context.Context, zone string, incs []occupancy.Incident) ([]occupancy.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.active[zone] == nil {
		f.active[zone] = map[string]string{}
	}
	var opened []occupancy.Incident
	for _, inc := range incs {
		if key := occupancy.ConditionKey(inc.Type, inc.SpaceID); f.active[zone][key] == "" {
			f.active[zone][key] = inc.ID
			opened = append(opened, inc)
		}
	}
	return opened, nil
}

func (f *incidents) ClearCondition(_ context.Context, zone, key, _ string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.active[zone], key)
	return true, nil
}

func (f *incidents) PruneIncidents(_ context.Context, cutoff time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutoffs = append(f.cutoffs, cutoff)
	return 2, f.pruneErr
}

// TestDetectorPacesItsPass: a paced pass pauses between zones, still opens
// the incidents of every zone, and stops in a pause when its context ends.
func TestDetectorPacesItsPass(t *testing.T) {
	t0 := storetest.T0
	clk, reg := storetest.NewClock(t0.Add(2*time.Hour)), threeZones(t)
	d := newFakeDetector(newIncidents(t0), reg, clk, time.Minute, nil) // every sensor silent: one offline incident per zone
	const pause = 100 * time.Millisecond
	short, cancel := context.WithTimeout(context.Background(), pause/2)
	defer cancel()
	if res, err := d.DetectPaced(short, pause); !errors.Is(err, context.DeadlineExceeded) || len(res.Opened) != 1 {
		t.Fatalf("pass cut short in its first pause: opened %d, err %v; want 1 (zone A) and the deadline", len(res.Opened), err)
	}
	begin := time.Now()
	res, err := d.DetectPaced(context.Background(), pause)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 2*pause {
		t.Errorf("a pass over 3 zones with a pause of %v took %v, want at least %v", pause, took, 2*pause)
	}
	if len(res.Opened) != 2 {
		t.Errorf("the full pass opened %d incidents, want 2 (zones B and C; A's is open)", len(res.Opened))
	}
}

// newFakeDetector returns a detector of reg over f on clk, every interval.
func newFakeDetector(f *incidents, reg *occupancy.Registry, clk *storetest.Clock, interval time.Duration, log *slog.Logger) *jobs.Detector {
	return jobs.NewDetector(jobs.DetectorOptions{Store: f, Registry: reg, Now: clk.Now, Interval: interval, Logger: log})
}

// TestDetectorRun: Run makes a pass every Interval, each spread over half
// of it (a pause of Interval/2/zones between zones), logs what it opened
// and resolved, prunes old incidents once an hour (by its clock), logging
// what it deleted or its failure, and returns nil when its context ends.
func TestDetectorRun(t *testing.T) {
	t0 := storetest.T0
	clk, reg, f, l := storetest.NewClock(t0.Add(2*time.Hour)), threeZones(t), newIncidents(t0), &logs{}
	const interval = 300 * time.Millisecond // a pause of 50 ms
	d := newFakeDetector(f, reg, clk, interval, slog.New(l))
	_, stop := run(t, d.Run)
	opened := func(z string) string {
		return fmt.Sprintf("INFO incident opened id=%s type=offline space=%s-1",
			occupancy.IncidentID(occupancy.IncidentOffline, z+"-1", t0), z)
	}
	l.waitFor(t, "INFO old resolved incidents deleted count=2", opened("A"), opened("B"), opened("C"))

	f.setHeard(clk.Now()) // every sensor heard again: the conditions clear
	resolved := func(z string) string {
		return "INFO incident resolved: condition cleared id=" + occupancy.IncidentID(occupancy.IncidentOffline, z+"-1", t0)
	}
	l.waitFor(t, resolved("A"), resolved("B"), resolved("C"))

	f.mu.Lock()
	f.pruneErr = errDown
	f.mu.Unlock()
	clk.Add(time.Hour)
	l.waitFor(t, "WARN incident pruning failed")
	stop()

	f.mu.Lock()
	cutoffs := f.cutoffs
	f.mu.Unlock()
	if want := []time.Time{t0.Add(2 * time.Hour).Add(-occupancy.IncidentRetention), t0.Add(3 * time.Hour).Add(-occupancy.IncidentRetention)}; fmt.Sprint(cutoffs) != fmt.Sprint(want) {
		t.Errorf("pruned with cutoffs %v, want %v: once an hour, IncidentRetention back", cutoffs, want)
	}
	calls := f.calls()
	for i := 1; i < len(calls); i++ {
		if calls[i].zone != "A" && calls[i].at.Sub(calls[i-1].at) < interval/2/3 {
			t.Errorf("zone %s's pass began %v after zone %s's, want at least %v", calls[i].zone,
				calls[i].at.Sub(calls[i-1].at), calls[i-1].zone, interval/2/3)
		}
	}
	var order string
	for _, c := range calls {
		order += c.zone
	}
	if len(order) < 6 || order[:6] != "ABCABC" {
		t.Errorf("zones passed in the order %s, want ABC at least twice (opened, then resolved)", order)
	}
}
