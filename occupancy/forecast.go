package occupancy

import (
	"context"
	"math"
	"time"
)

// ForecastWeeks is how many previous weeks a forecast looks at.
const ForecastWeeks = 3

// ForecastMaxAhead is how far ahead a forecast may look: at most a week, so
// that the same time a week earlier is already in the history.
const ForecastMaxAhead = 7 * 24 * time.Hour

// ForecastFade is the horizon at which the last hour's deviation from the
// usual no longer adjusts a forecast; it fades linearly from now to then.
const ForecastFade = 24 * time.Hour

// Forecast methods.
const (
	// ForecastWeekly: the mean free count at the same weekday and time in
	// the previous weeks, adjusted by how the last hour compares with the
	// same hour in those weeks.
	ForecastWeekly = "same_time_previous_weeks"
	// ForecastCurrent: no history at that time in any previous week, so the
	// current free count.
	ForecastCurrent = "current"
)

// ForecastInput is what EstimateFree needs, read from the history.
type ForecastInput struct {
	At, Now time.Time
	// Current are the zone's live counters.
	Current Counts
	// Weeks[k] is the bucket at At-(k+1) weeks, nil when not recorded.
	Weeks [ForecastWeeks]*HistoryPoint
	// LastHour are the buckets of the hour before Now.
	LastHour []HistoryPoint
	// UsualLastHour are the buckets of that same hour in the previous
	// ForecastWeeks weeks.
	UsualLastHour []HistoryPoint
}

// ForecastWeek is one previous week's sample used by a forecast.
type ForecastWeek struct {
	WeeksAgo int
	At       time.Time // bucket start
	Free     *int      // nil when that bucket was not recorded
}

// Forecast estimates a zone's free spaces at a future time.
type Forecast struct {
	At     time.Time
	Free   int // estimated free spaces, within 0..Total
	Total  int // the zone's current total
	Method string
	// Baseline is the mean free count of the previous weeks' samples; nil
	// with ForecastCurrent.
	Baseline *float64
	// LastHourFree and UsualLastHourFree are the mean free counts of the
	// last hour and of the same hour in the previous weeks; nil when either
	// has no sample (then Adjustment is 0).
	LastHourFree, UsualLastHourFree *float64
	// Adjustment is what the last hour's deviation added to Baseline (the
	// deviation faded by the horizon, see ForecastFade).
	Adjustment float64
	Weeks      []ForecastWeek
}

// EstimateFree forecasts the free spaces at in.At: the mean of the previous
// weeks' free counts at the same weekday and time, plus the last hour's
// deviation from the same hour in those weeks, faded linearly to nothing
// ForecastFade ahead; clamped to 0..total. Without any previous week's
// sample it answers the current free count (method ForecastCurrent).
func EstimateFree(in ForecastInput) Forecast {
	f := Forecast{At: in.At, Total: in.Current.Total, Method: ForecastCurrent, Free: in.Current.Free}
	var sum, n int
	for k, p := range in.Weeks {
		w := ForecastWeek{WeeksAgo: k + 1, At: BucketStart(in.At).Add(-time.Duration(k+1) * 7 * 24 * time.Hour)}
		if p != nil {
			free := p.Counts.Free
			w.Free = &free
			sum, n = sum+free, n+1
		}
		f.Weeks = append(f.Weeks, w)
	}
	f.LastHourFree, f.UsualLastHourFree = meanFree(in.LastHour), meanFree(in.UsualLastHour)
	if n == 0 {
		return f
	}
	base := float64(sum) / float64(n)
	f.Method, f.Baseline = ForecastWeekly, &base
	if f.LastHourFree != nil && f.UsualLastHourFree != nil {
		f.Adjustment = (*f.LastHourFree - *f.UsualLastHourFree) * fade(in.At.Sub(in.Now))
	}
	f.Free = int(math.Round(math.Max(0, math.Min(float64(f.Total), base+f.Adjustment))))
	return f
}

// fade is 1 for a horizon of 0 or less, falling linearly to 0 at ForecastFade.
func fade(horizon time.Duration) float64 {
	return math.Max(0, math.Min(1, 1-float64(horizon)/float64(ForecastFade)))
}

// meanFree is the mean free count of pts, nil when pts is empty.
func meanFree(pts []HistoryPoint) *float64 {
	if len(pts) == 0 {
		return nil
	}
	sum := 0
	for _, p := range pts {
		sum += p.Counts.Free
	}
	m := float64(sum) / float64(len(pts))
	return &m
}

// HistoryReader reads the recorded occupancy history.
type HistoryReader interface {
	// History returns the recorded buckets of zoneID (or of the town with
	// AllZones) starting in [from, to), oldest first. ENOTFOUND for an
	// unknown zone, EINVALID for too long a span.
	History(ctx context.Context, zoneID string, from, to time.Time) ([]HistoryPoint, error)
}

// ForecastFree estimates the free spaces of zoneID (or of the town with
// AllZones), whose live counts are current, at at: EstimateFree over the
// history h holds. EINVALID when at is before the current bucket or more
// than ForecastMaxAhead after now; the history's errors otherwise.
func ForecastFree(ctx context.Context, h HistoryReader, zoneID string, current Counts, at, now time.Time) (Forecast, error) {
	if at.Before(BucketStart(now)) || at.After(now.Add(ForecastMaxAhead)) {
		return Forecast{}, Errorf(EINVALID, "at must be between now and %s ahead", ForecastMaxAhead)
	}
	const week = 7 * 24 * time.Hour
	in := ForecastInput{At: at, Now: now, Current: current}
	for k := range in.Weeks {
		t := BucketStart(at).Add(-time.Duration(k+1) * week)
		pts, err := h.History(ctx, zoneID, t, t.Add(HistoryStep))
		if err != nil {
			return Forecast{}, err
		}
		if len(pts) == 1 {
			in.Weeks[k] = &pts[0]
		}
	}
	var err error
	if in.LastHour, err = h.History(ctx, zoneID, now.Add(-time.Hour), now); err != nil {
		return Forecast{}, err
	}
	for k := 1; k <= ForecastWeeks; k++ {
		ago := time.Duration(k) * week
		pts, err := h.History(ctx, zoneID, now.Add(-time.Hour-ago), now.Add(-ago))
		if err != nil {
			return Forecast{}, err
		}
		in.UsualLastHour = append(in.UsualLastHour, pts...)
	}
	return EstimateFree(in), nil
}
