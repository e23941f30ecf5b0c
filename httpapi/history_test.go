package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// historyState records the current counters at t0 and, for zone ZA, 5 free
// of 7 a week before t0+1h.
func historyState(tb testing.TB, e *env) {
	tb.Helper()
	ctx := context.Background()
	if err := e.store.RecordHistory(ctx, t0); err != nil {
		tb.Fatal(err)
	}
	lastWeek := occupancy.HistoryPoint{Start: t0.Add(time.Hour - 7*24*time.Hour), Counts: occupancy.Counts{Total: 7, Free: 5, Occupied: 2}}
	if err := e.store.WriteHistory(ctx, "ZA", []occupancy.HistoryPoint{lastWeek}); err != nil {
		tb.Fatal(err)
	}
}

func TestHistoryAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// ZA over 07:00-08:00: free = minute/5 % 4 (0,1,2,3,0,1,…); ZB 3 of 3
	// free at 07:00 only.
	var pts []occupancy.HistoryPoint
	for i := 0; i < 12; i++ {
		f := i % 4
		pts = append(pts, occupancy.HistoryPoint{Start: t0.Add(-time.Hour + time.Duration(i)*5*time.Minute),
			Counts: occupancy.Counts{Total: 7, Free: f, Occupied: 7 - f}})
	}
	if err := e.store.WriteHistory(ctx, "ZA", pts); err != nil {
		t.Fatal(err)
	}
	zb := occupancy.HistoryPoint{Start: t0.Add(-time.Hour), Counts: occupancy.Counts{Total: 3, Free: 3}}
	if err := e.store.WriteHistory(ctx, "ZB", []occupancy.HistoryPoint{zb}); err != nil {
		t.Fatal(err)
	}
	type point struct {
		Start                                  string
		Total, Free, Occupied, Unknown, Closed int
		Samples                                int
	}
	type answer struct {
		ZoneID      string `json:"zone_id"`
		From, To    string
		StepSeconds int `json:"step_seconds"`
		Points      []point
	}
	t.Run("steps average their buckets", func(t *testing.T) {
		var got answer
		// from 07:02 rounds down to 07:00; 20-minute steps of 0,1,2,3.
		e.get(t, "/api/v1/zones/ZA/history?from=2026-11-25T07:02:00Z&to=2026-11-25T08:00:00Z&step=20m", http.StatusOK, &got)
		if got.ZoneID != "ZA" || got.From != "2026-11-25T07:00:00.000Z" || got.To != "2026-11-25T08:00:00.000Z" ||
			got.StepSeconds != 1200 || len(got.Points) != 3 {
			t.Fatalf("got %+v", got)
		}
		for i, p := range got.Points {
			want := point{Start: ts(t0.Add(-time.Hour + time.Duration(i)*20*time.Minute)), Total: 7, Free: 2, Occupied: 5, Samples: 4}
			if p != want { // mean of 0,1,2,3 is 1.5, rounded to 2
				t.Errorf("point %d: %+v, want %+v", i, p, want)
			}
		}
	})
	t.Run("default: the last 24 h in 5-minute buckets", func(t *testing.T) {
		var got answer
		e.get(t, "/api/v1/zones/ZA/history", http.StatusOK, &got)
		if got.From != ts(t0.Add(-24*time.Hour)) || got.To != ts(t0) || got.StepSeconds != 300 || len(got.Points) != 12 ||
			got.Points[3].Free != 3 || got.Points[3].Samples != 1 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("town sums the zones", func(t *testing.T) {
		for _, target := range []string{"/api/v1/history?step=1h", "/api/v1/zones/all/history?step=1h"} {
			var got answer
			e.get(t, target, http.StatusOK, &got)
			// one hour step at 07:00: ZA mean 1.5 free of 7 in 12 buckets,
			// ZB 3 free in the first bucket: (3+18)/12 = 1.75 → 2 free, total (7*12+3)/12 → 7.
			if got.ZoneID != "all" || len(got.Points) != 1 || got.Points[0].Free != 2 || got.Points[0].Total != 7 {
				t.Errorf("%s: %+v", target, got)
			}
		}
	})
	t.Run("forecast", func(t *testing.T) {
		var got struct {
			ZoneID            string `json:"zone_id"`
			At                string `json:"at"`
			Free, Total       int
			Method            string
			Baseline          *float64
			Adjustment        float64
			LastHourFree      *float64 `json:"last_hour_free"`
			UsualLastHourFree *float64 `json:"usual_last_hour_free"`
			Weeks             []struct {
				WeeksAgo int `json:"weeks_ago"`
				At       string
				Free     *int
			}
		}
		historyState(t, e) // 5 free a week before 09:00; the counters now: 7 unknown
		e.get(t, "/api/v1/zones/ZA/forecast?at=2026-11-25T09:00:00Z", http.StatusOK, &got)
		if got.Method != occupancy.ForecastWeekly || got.Free != 5 || got.Total != 7 || got.Baseline == nil || *got.Baseline != 5 ||
			len(got.Weeks) != 3 || got.Weeks[0].Free == nil || *got.Weeks[0].Free != 5 || got.Weeks[1].Free != nil ||
			got.Weeks[0].At != "2026-11-18T09:00:00.000Z" || got.LastHourFree == nil || got.UsualLastHourFree != nil {
			t.Errorf("forecast: %+v", got)
		}
	})
	for _, tc := range []struct{ name, target, words string }{
		{"from after to", "/api/v1/zones/ZA/history?from=2026-11-25T09:00:00Z&to=2026-11-25T08:00:00Z", "before"},
		{"step not a multiple of 5m", "/api/v1/zones/ZA/history?step=7m", "step"},
		{"step over a day", "/api/v1/zones/ZA/history?step=25h", "step"},
		{"too many points", "/api/v1/zones/ZA/history?from=2026-11-01T00:00:00Z", "larger step"},
		{"over 35 days", "/api/v1/zones/ZA/history?from=2026-10-01T00:00:00Z&step=24h", "35 days"},
		{"bad time", "/api/v1/zones/ZA/history?to=yesterday", "RFC 3339"},
		{"twice", "/api/v1/history?step=5m&step=1h", "more than once"},
		{"forecast without at", "/api/v1/forecast", "at is required"},
		{"forecast in the past", "/api/v1/forecast?at=2026-11-25T07:00:00Z", "at must be"},
		{"forecast too far", "/api/v1/zones/ZB/forecast?at=2026-12-05T07:00:00Z", "at must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectError(t, e.do(t, http.MethodGet, tc.target), http.StatusBadRequest, "invalid", tc.words)
		})
	}
	expectError(t, e.do(t, http.MethodGet, "/api/v1/zones/NOPE/history"), http.StatusNotFound, "not_found", "NOPE")
}
