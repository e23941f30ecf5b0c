package simulator

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

func TestCurves(t *testing.T) {
	at := func(day, h, m int) time.Time { // day 23 is Monday 23 Nov 2026
		return time.Date(2026, 11, day, h, m, 0, 0, chinaStandardTime)
	}
	tests := []struct {
		name     string
		profile  occupancy.Profile
		t        time.Time
		min, max float64
	}{
		{"commuter weekday morning", occupancy.ProfileCommuter, at(24, 10, 0), 0.85, 0.95},
		{"commuter weekday afternoon", occupancy.ProfileCommuter, at(26, 15, 0), 0.80, 0.95},
		{"commuter night", occupancy.ProfileCommuter, at(24, 3, 0), 0, 0.15},
		{"commuter saturday morning", occupancy.ProfileCommuter, at(28, 10, 0), 0.2, 0.5},
		{"empty profile is commuter", "", at(24, 10, 0), 0.85, 0.95},
		{"commuter interpolates 7:30", occupancy.ProfileCommuter, at(24, 7, 30), 0.625, 0.625},
		{"friday 23:30 runs into saturday", occupancy.ProfileCommuter, at(27, 23, 30), 0.11, 0.11},
		{"residential night", occupancy.ProfileResidential, at(24, 2, 0), 0.9, 0.95},
		{"residential midday", occupancy.ProfileResidential, at(24, 12, 0), 0.4, 0.6},
		{"market morning peak", occupancy.ProfileMarket, at(24, 7, 30), 0.9, 1},
		{"market lull", occupancy.ProfileMarket, at(24, 13, 0), 0.2, 0.4},
		{"market evening peak", occupancy.ProfileMarket, at(24, 17, 0), 0.6, 0.8},
		{"market night", occupancy.ProfileMarket, at(24, 1, 0), 0, 0.1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := curveFor(tc.profile).at(tc.t)
			if got < tc.min-1e-9 || got > tc.max+1e-9 {
				t.Errorf("curve at %s = %.3f, want %.3f-%.3f", tc.t.Format("Mon 15:04"), got, tc.min, tc.max)
			}
		})
	}
}

func TestCurveIsContinuous(t *testing.T) {
	for _, p := range []occupancy.Profile{occupancy.ProfileCommuter, occupancy.ProfileResidential, occupancy.ProfileMarket} {
		c := curveFor(p)
		start := time.Date(2026, 11, 23, 0, 0, 0, 0, chinaStandardTime)
		prev := c.at(start)
		for m := 1; m < 8*24*60; m++ {
			v := c.at(start.Add(time.Duration(m) * time.Minute))
			if math.Abs(v-prev) > 0.01 { // the steepest slope is 0.5 per hour
				t.Fatalf("%s: curve jumps from %.3f to %.3f at minute %d", p, prev, v, m)
			}
			prev = v
		}
	}
}

func TestDwellMedian(t *testing.T) {
	tests := []struct {
		name string
		d    dwell
	}{
		{"on-street", dwellOnStreet}, {"lot workday", dwellLotWorkday}, {"lot visit", dwellLotVisit},
		{"overnight", dwellOvernight}, {"residential day", dwellResidentDay}, {"market", dwellMarket},
		{"loading", dwellLoading}, {"short stop", dwellShortStop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			draws := make([]time.Duration, 20001)
			for i := range draws {
				draws[i] = tc.d.draw(rng)
				if draws[i] < tc.d.min || draws[i] > tc.d.max {
					t.Fatalf("draw %s outside [%s, %s]", draws[i], tc.d.min, tc.d.max)
				}
			}
			slices.Sort(draws)
			med := draws[len(draws)/2]
			if ratio := float64(med) / float64(tc.d.median); ratio < 0.95 || ratio > 1.05 {
				t.Errorf("median %s, want %s ±5%%", med, tc.d.median)
			}
			// Log-normal: the 84th percentile is about median*e^sigma.
			p84 := draws[len(draws)*841/1000]
			want := float64(tc.d.median) * math.Exp(tc.d.sigma)
			if want < float64(tc.d.max) && math.Abs(float64(p84)/want-1) > 0.1 {
				t.Errorf("84th percentile %s, want about %s", p84, time.Duration(want))
			}
		})
	}
}

func TestDwellClasses(t *testing.T) {
	tests := []struct {
		name    string
		profile occupancy.Profile
		zt      occupancy.ZoneType
		kind    occupancy.Kind
		hour    int
		want    dwell
	}{
		{"on-street commuter", occupancy.ProfileCommuter, occupancy.OnStreet, occupancy.KindStandard, 10, dwellOnStreet},
		{"lot commuter arriving 8:00", occupancy.ProfileCommuter, occupancy.OffStreet, occupancy.KindStandard, 8, dwellLotWorkday},
		{"lot visitor at 14:00", "", occupancy.OffStreet, occupancy.KindStandard, 14, dwellLotVisit},
		{"resident in the evening", occupancy.ProfileResidential, occupancy.OffStreet, occupancy.KindStandard, 19, dwellOvernight},
		{"resident at noon", occupancy.ProfileResidential, occupancy.OffStreet, occupancy.KindStandard, 12, dwellResidentDay},
		{"market", occupancy.ProfileMarket, occupancy.OnStreet, occupancy.KindStandard, 7, dwellMarket},
		{"loading bay", occupancy.ProfileMarket, occupancy.OnStreet, occupancy.KindLoading, 7, dwellLoading},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dwellFor(tc.profile, tc.zt, tc.kind, tc.hour); got != tc.want {
				t.Errorf("dwellFor = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestOccupancyTracksCurve runs the model for hours of virtual time and
// checks that each zone's occupancy stays near its target curve.
func TestOccupancyTracksCurve(t *testing.T) {
	start := time.Date(2026, 11, 24, 5, 0, 0, 0, chinaStandardTime) // Tuesday 05:00
	s, _ := newModel(t, Options{Registry: testRegistry(t, 400), Accel: 60, Heartbeat: time.Hour, Start: start})
	ctx := context.Background()
	for _, h := range []int{2, 4, 6, 9, 12, 15} { // virtual hours after 05:00
		s.simulate(ctx, time.Duration(h)*time.Minute) // Accel 60: a wall minute is a virtual hour
		vt := s.virtual(int64(time.Duration(h) * time.Minute))
		for _, z := range testZones {
			got, want := s.zoneShare(z.ID, vt)
			t.Logf("%s %s occ %.2f target %.2f", vt.Format("15:04"), z.ID, got, want)
			// Occupancy lags a moving curve by up to about a mean dwell.
			if math.Abs(got-want) > 0.12 {
				t.Errorf("%s %s: %s occupied %.2f, target %.2f", vt.Format("15:04"), z.ID, z.Profile, got, want)
			}
		}
	}
}

// zoneShare returns the share of a zone's sensors that are occupied and
// the mean of their targets at vt.
func (s *Simulator) zoneShare(zoneID string, vt time.Time) (got, want float64) {
	n := 0
	for i := range s.sensors {
		sn := &s.sensors[i]
		if sn.space.ZoneID != zoneID {
			continue
		}
		n++
		want += sn.demand.target(vt)
		if sn.occupied {
			got++
		}
	}
	return got / float64(n), want / float64(n)
}

// TestOccupancyMovesFast checks the demo's promise: at Accel 60 a town of
// 3000 spaces changes many spaces a second from the first 30 s, dozens by
// day and still several at night.
func TestOccupancyMovesFast(t *testing.T) {
	tests := []struct {
		name    string
		start   time.Time
		minRate float64
	}{
		{"weekday 10:00", tuesday10, 24},
		{"night 03:00", time.Date(2026, 11, 24, 3, 0, 0, 0, chinaStandardTime), 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, rec := newModel(t, Options{Registry: testRegistry(t, 750), Accel: 60, Start: tc.start})
			s.simulate(context.Background(), 30*time.Second)
			changes := int(s.count.readings.Load()-s.count.heartbeats.Load()) - 3000 // minus first messages
			rate := float64(changes) / (30 - 2)
			t.Logf("%d status changes in 30 s: %.1f/s", changes, rate)
			if rate < tc.minRate {
				t.Errorf("%.1f status changes per second, want at least %.0f", rate, tc.minRate)
			}
			if len(rec.msgs) < 3000 {
				t.Errorf("%d messages, want at least one per sensor", len(rec.msgs))
			}
		})
	}
}
