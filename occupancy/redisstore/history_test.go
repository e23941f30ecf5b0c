package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// wantPoints asserts the history of zone in [from, to) as "start free/total"
// lines.
func wantPoints(t *testing.T, s *redisstore.Store, zone string, from, to time.Time, want ...occupancy.HistoryPoint) {
	t.Helper()
	got, err := s.History(context.Background(), zone, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("history of %s [%s, %s): %d points %+v, want %d %+v", zone, from, to, len(got), got, len(want), want)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Counts != want[i].Counts || got[i].Samples != 1 {
			t.Errorf("history of %s point %d: %+v, want %+v", zone, i, got[i], want[i])
		}
	}
}

func TestHistoryRecordsBuckets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0.Add(time.Minute)}
		s := newStore(t, rdb, clk)
		mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
		mustApply(t, s, reading("S5", true, t0, 1), occupancy.ResultApplied)
		if err := s.RecordHistory(ctx, clk.now); err != nil {
			t.Fatal(err)
		}
		// A second sample in the same bucket (another instance, or later in
		// the bucket) replaces the first: one sample per bucket.
		mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied)
		clk.now = t0.Add(4 * time.Minute)
		if err := s.RecordHistory(ctx, clk.now); err != nil {
			t.Fatal(err)
		}
		clk.now = t0.Add(11 * time.Minute) // bucket 08:10; 08:05 stays empty
		mustApply(t, s, reading("S1", true, t0.Add(10*time.Minute), 2), occupancy.ResultApplied)
		if err := s.RecordHistory(ctx, clk.now); err != nil {
			t.Fatal(err)
		}
		a0 := occupancy.HistoryPoint{Start: t0, Counts: occupancy.Counts{Total: 4, Free: 2, Unknown: 2}}
		a10 := occupancy.HistoryPoint{Start: t0.Add(10 * time.Minute), Counts: occupancy.Counts{Total: 4, Free: 1, Occupied: 1, Unknown: 2}}
		wantPoints(t, s, "A", t0.Add(-time.Hour), t0.Add(time.Hour), a0, a10)
		wantPoints(t, s, "A", t0.Add(time.Second), t0.Add(time.Hour), a10) // a bucket starting before from is out
		wantPoints(t, s, "A", t0, t0.Add(10*time.Minute), a0)              // to is exclusive
		town := occupancy.HistoryPoint{Start: t0, Counts: occupancy.Counts{Total: 6, Free: 2, Occupied: 1, Unknown: 3}}
		town10 := occupancy.HistoryPoint{Start: t0.Add(10 * time.Minute), Counts: occupancy.Counts{Total: 6, Free: 1, Occupied: 2, Unknown: 3}}
		wantPoints(t, s, occupancy.AllZones, t0, t0.Add(time.Hour), town, town10)

		// A day key holds 288 fixed records at most and expires 35 days
		// after its day ends.
		key := "pk:{A}:h:20261125"
		if n := rdb.StrLen(ctx, key).Val(); n != int64((8*12+3)*21) {
			t.Errorf("STRLEN %s = %d, want the records up to 08:10 (%d bytes)", key, n, (8*12+3)*21)
		}
		ttl := rdb.TTL(ctx, key).Val()
		if want := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Add(occupancy.HistoryRetention).Sub(clk.now); ttl < want-time.Minute || ttl > want+time.Minute {
			t.Errorf("TTL %s = %s, want about %s", key, ttl, want)
		}
		if _, err := s.History(ctx, "nope", t0, t0.Add(time.Hour)); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
			t.Errorf("unknown zone: %v, want ENOTFOUND", err)
		}
		if _, err := s.History(ctx, "A", t0.Add(-40*24*time.Hour), t0); occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Errorf("40-day span: %v, want EINVALID", err)
		}
	})
}

func TestHistoryOlderThanRetentionIsNotWritten(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := newStore(t, rdb, &clock{now: t0})
		old := t0.Add(-occupancy.HistoryRetention - 24*time.Hour)
		recent := t0.Add(-occupancy.HistoryRetention + time.Hour)
		pts := []occupancy.HistoryPoint{
			{Start: old, Counts: occupancy.Counts{Total: 4, Free: 4}},
			{Start: recent, Counts: occupancy.Counts{Total: 4, Free: 3}},
		}
		if err := s.WriteHistory(ctx, "A", pts); err != nil {
			t.Fatal(err)
		}
		wantPoints(t, s, "A", t0.Add(-occupancy.HistoryRetention), t0, occupancy.HistoryPoint{Start: recent, Counts: pts[1].Counts})
		if n := rdb.Exists(ctx, "pk:{A}:h:"+old.Format("20060102")).Val(); n != 0 {
			t.Errorf("a day key older than the retention was created")
		}
	})
}

// layHistory writes zone's buckets from from to to (exclusive), free given
// by freeAt.
func layHistory(t *testing.T, s *redisstore.Store, zone string, from, to time.Time, total int, freeAt func(time.Time) int) {
	t.Helper()
	var pts []occupancy.HistoryPoint
	for at := from; at.Before(to); at = at.Add(occupancy.HistoryStep) {
		f := freeAt(at)
		pts = append(pts, occupancy.HistoryPoint{Start: at, Counts: occupancy.Counts{Total: total, Free: f, Occupied: total - f}})
	}
	if err := s.WriteHistory(context.Background(), zone, pts); err != nil {
		t.Fatal(err)
	}
}

func TestForecast(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := newStore(t, rdb, &clock{now: t0})
		mustApply(t, s, reading("S5", false, t0, 1), occupancy.ResultApplied) // B: 1 free of 2
		at := t0.Add(12 * time.Hour)
		// Three weeks of A: 1, 2 and 3 free at the target time one, two and
		// three weeks back; 3 free in the last hour against 1 usually.
		start := t0.Add(-22 * 24 * time.Hour)
		layHistory(t, s, "A", start, t0, 4, func(x time.Time) int {
			for k := 1; k <= 3; k++ {
				ago := time.Duration(k) * 7 * 24 * time.Hour
				switch {
				case x.Equal(at.Add(-ago)):
					return k
				case !x.Before(t0.Add(-time.Hour-ago)) && x.Before(t0.Add(-ago)):
					return 1
				}
			}
			if !x.Before(t0.Add(-time.Hour)) {
				return 3
			}
			return 0
		})
		f, err := forecast(ctx, s, t0, "A", at)
		if err != nil {
			t.Fatal(err)
		}
		// Baseline 2, deviation +2 faded by half (12 h of 24 h): 3.
		if f.Method != occupancy.ForecastWeekly || f.Free != 3 || f.Total != 4 || *f.Baseline != 2 ||
			*f.LastHourFree != 3 || *f.UsualLastHourFree != 1 || f.Adjustment != 1 {
			t.Errorf("forecast A: %+v, want weekly, free 3 of 4, baseline 2, last hour 3 vs 1, adjustment 1", f)
		}
		for k, w := range f.Weeks {
			if w.Free == nil || *w.Free != k+1 || !w.At.Equal(at.Add(-time.Duration(k+1)*7*24*time.Hour)) {
				t.Errorf("week %d: %+v", k+1, w)
			}
		}
		// Five minutes ahead the last hour weighs almost fully: at 08:05 the
		// previous weeks had 0 free, so baseline 0 + 2×(1-5m/24h) ≈ 2.
		if f, _ := forecast(ctx, s, t0, "A", t0.Add(5*time.Minute)); f.Method != occupancy.ForecastWeekly || f.Free != 2 {
			t.Errorf("forecast A at 08:05: %+v, want weekly, free 2", f)
		}
		// B has no history: the current free count.
		if f, err := forecast(ctx, s, t0, "B", at); err != nil || f.Method != occupancy.ForecastCurrent || f.Free != 1 || f.Total != 2 {
			t.Errorf("forecast B: %+v, %v, want current, free 1 of 2", f, err)
		}
		for _, tc := range []struct {
			name, zone string
			at         time.Time
			code       string
		}{
			{"past", "A", t0.Add(-10 * time.Minute), occupancy.EINVALID},
			{"over a week ahead", "A", t0.Add(8 * 24 * time.Hour), occupancy.EINVALID},
			{"unknown zone", "nope", at, occupancy.ENOTFOUND},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := forecast(ctx, s, t0, tc.zone, tc.at); occupancy.ErrorCode(err) != tc.code {
					t.Errorf("got %v, want %s", err, tc.code)
				}
			})
		}
	})
}

// forecast is occupancy.ForecastFree over the store's history and live
// counters, as the API makes it.
func forecast(ctx context.Context, s *redisstore.Store, now time.Time, zoneID string, at time.Time) (occupancy.Forecast, error) {
	var current occupancy.Counts
	zones, err := s.Zones(ctx)
	if err != nil {
		return occupancy.Forecast{}, err
	}
	found := zoneID == occupancy.AllZones
	for _, z := range zones {
		if zoneID == occupancy.AllZones || z.ZoneID == zoneID {
			current.Add(z.Counts)
			found = true
		}
	}
	if !found {
		return occupancy.Forecast{}, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
	}
	return occupancy.ForecastFree(ctx, s, zoneID, current, at, now)
}
