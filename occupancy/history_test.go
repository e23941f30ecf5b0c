package occupancy

import (
	"testing"
	"time"
)

func TestDownsample(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	pt := func(min, total, free, occ, unk, closed int) HistoryPoint {
		return HistoryPoint{Start: t0.Add(time.Duration(min) * time.Minute), Samples: 1,
			Counts: Counts{Total: total, Free: free, Occupied: occ, Unknown: unk, Closed: closed}}
	}
	tests := []struct {
		name string
		raw  []HistoryPoint
		step time.Duration
		want []HistoryPoint
	}{
		{"5m keeps buckets", []HistoryPoint{pt(0, 7, 1, 6, 0, 0), pt(10, 7, 2, 5, 0, 0)}, 5 * time.Minute,
			[]HistoryPoint{pt(0, 7, 1, 6, 0, 0), pt(10, 7, 2, 5, 0, 0)}},
		{"parts add up to the total", []HistoryPoint{pt(0, 7, 1, 6, 0, 0), pt(5, 7, 2, 5, 0, 0)}, 10 * time.Minute,
			[]HistoryPoint{{Start: t0, Samples: 2, Counts: Counts{Total: 7, Free: 2, Occupied: 5}}}},
		{"largest remainder wins", []HistoryPoint{pt(0, 10, 1, 3, 6, 0), pt(5, 10, 2, 4, 3, 1), pt(10, 10, 2, 4, 3, 1)}, 15 * time.Minute,
			// means 1.67, 3.67, 4, 0.67: floors 1,3,4,0 = 8, two more to free and occupied
			[]HistoryPoint{{Start: t0, Samples: 3, Counts: Counts{Total: 10, Free: 2, Occupied: 4, Unknown: 4, Closed: 0}}}},
		{"empty steps are left out", []HistoryPoint{pt(0, 4, 4, 0, 0, 0), pt(125, 4, 0, 4, 0, 0)}, time.Hour,
			[]HistoryPoint{{Start: t0, Samples: 1, Counts: Counts{Total: 4, Free: 4}},
				{Start: t0.Add(2 * time.Hour), Samples: 1, Counts: Counts{Total: 4, Occupied: 4}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Downsample(tc.raw, t0, tc.step)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if !got[i].Start.Equal(tc.want[i].Start) || got[i].Counts != tc.want[i].Counts || got[i].Samples != tc.want[i].Samples {
					t.Errorf("point %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestEstimateFree(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	hp := func(free int) *HistoryPoint { return &HistoryPoint{Counts: Counts{Total: 10, Free: free}} }
	pts := func(free ...int) []HistoryPoint {
		var out []HistoryPoint
		for _, f := range free {
			out = append(out, *hp(f))
		}
		return out
	}
	cur := Counts{Total: 10, Free: 7, Occupied: 3}
	tests := []struct {
		name       string
		in         ForecastInput
		method     string
		free       int
		adjustment float64
	}{
		{"no history: current", ForecastInput{At: now.Add(time.Hour), Current: cur}, ForecastCurrent, 7, 0},
		{"mean of the weeks present", ForecastInput{At: now.Add(24 * time.Hour), Current: cur,
			Weeks: [3]*HistoryPoint{hp(2), nil, hp(5)}, LastHour: pts(9), UsualLastHour: pts(1)}, ForecastWeekly, 4, 0},
		{"last hour above usual, half faded", ForecastInput{At: now.Add(12 * time.Hour), Current: cur,
			Weeks: [3]*HistoryPoint{hp(2), hp(3), hp(4)}, LastHour: pts(6, 6), UsualLastHour: pts(2, 2, 2)}, ForecastWeekly, 5, 2},
		{"clamped at zero", ForecastInput{At: now, Current: cur,
			Weeks: [3]*HistoryPoint{hp(1), hp(1), hp(1)}, LastHour: pts(0), UsualLastHour: pts(5)}, ForecastWeekly, 0, -5},
		{"clamped at total", ForecastInput{At: now, Current: cur,
			Weeks: [3]*HistoryPoint{hp(9), hp(9), hp(9)}, LastHour: pts(10), UsualLastHour: pts(2)}, ForecastWeekly, 10, 8},
		{"no last hour: no adjustment", ForecastInput{At: now, Current: cur,
			Weeks: [3]*HistoryPoint{hp(3), nil, nil}, UsualLastHour: pts(2)}, ForecastWeekly, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Now = now
			f := EstimateFree(tc.in)
			if f.Method != tc.method || f.Free != tc.free || f.Adjustment != tc.adjustment || f.Total != 10 || len(f.Weeks) != 3 {
				t.Errorf("got %+v, want %s free %d adjustment %g", f, tc.method, tc.free, tc.adjustment)
			}
		})
	}
}
