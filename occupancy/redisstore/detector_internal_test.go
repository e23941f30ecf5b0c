package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

// TestDetectorPacesItsPass checks that a paced pass pauses between zones,
// still opens the incidents of every zone, and stops in a pause when its
// context ends.
func TestDetectorPacesItsPass(t *testing.T) {
	zones := []occupancy.Zone{{ID: "A", Name: "A", Type: occupancy.OnStreet, Lat: 29.85, Lon: 121.64},
		{ID: "B", Name: "B", Type: occupancy.OnStreet, Lat: 29.86, Lon: 121.64},
		{ID: "C", Name: "C", Type: occupancy.OnStreet, Lat: 29.87, Lon: 121.64}}
	var spaces []occupancy.Space
	for i, z := range zones {
		spaces = append(spaces, occupancy.Space{ID: z.ID + "-1", ZoneID: z.ID, SensorID: "S" + z.ID,
			Lat: z.Lat, Lon: z.Lon + float64(i)*1e-4, Kind: occupancy.KindStandard})
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	now := t0
	s, err := New(Options{Client: testenv.MustStartRedis(t).Client(t), Registry: reg, Now: func() time.Time { return now },
		Health: occupancy.HealthRules{OfflineAfter: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	for _, z := range zones {
		if _, err := s.Apply(ctx, occupancy.Reading{SensorID: "S" + z.ID, Occupied: true, TS: t0, Seq: 1}); err != nil {
			t.Fatal(err)
		}
	}
	now = t0.Add(2 * time.Hour) // every sensor silent: one offline incident per zone

	const pause = 100 * time.Millisecond
	short, cancel := context.WithTimeout(ctx, pause/2)
	defer cancel()
	if res, err := s.detectPaced(short, pause); !errors.Is(err, context.DeadlineExceeded) || len(res.Opened) != 1 {
		t.Fatalf("pass cut short in its first pause: opened %d, err %v; want 1 (zone A) and the deadline", len(res.Opened), err)
	}
	begin := time.Now()
	res, err := s.detectPaced(ctx, pause)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 2*pause {
		t.Errorf("a pass over 3 zones with a pause of %v took %v, want at least %v", pause, took, 2*pause)
	}
	if len(res.Opened) != 2 {
		t.Errorf("the full pass opened %d incidents, want 2 (zones B and C; A's is open)", len(res.Opened))
	}
	if got := detectPause(30*time.Second, 14); got != 30*time.Second/28 {
		t.Errorf("detectPause(30s, 14 zones) = %v, want the pass spread over 15 s", got)
	}
}
