package occupancy

import (
	"math"
	"time"
)

// HistoryStep is the width of one occupancy history bucket: the sampler
// records each zone's counters once per step, in the bucket that starts at
// the sample time truncated to the step.
const HistoryStep = 5 * time.Minute

// HistoryRetention is how long history buckets are kept.
const HistoryRetention = 35 * 24 * time.Hour

// AllZones is the zone id that stands for the whole town in history and
// forecast queries: the sum of every zone's counts.
const AllZones = "all"

// HistoryPoint is one zone's (or the town's) counts in one bucket.
type HistoryPoint struct {
	Start   time.Time // start of the bucket (or of the step, when aggregated)
	Counts  Counts    // the counts sampled; the mean over Samples when aggregated
	Samples int       // buckets that held a sample (1 for a raw bucket)
}

// BucketStart returns the start of the history bucket holding t.
func BucketStart(t time.Time) time.Time { return t.UTC().Truncate(HistoryStep) }

// Downsample groups raw points (sorted by Start) into steps of width step
// starting at from and returns, for each step that holds at least one
// sample, the mean of its counts in whole numbers (see roundCounts). Steps
// with no sample are left out.
func Downsample(raw []HistoryPoint, from time.Time, step time.Duration) []HistoryPoint {
	var out []HistoryPoint
	var sum [5]int
	flush := func(start time.Time, n int) {
		if n > 0 {
			out = append(out, HistoryPoint{Start: start, Samples: n, Counts: roundCounts(sum, n)})
		}
	}
	cur, n := time.Time{}, 0
	for _, p := range raw {
		start := from.Add(p.Start.Sub(from) / step * step)
		if !start.Equal(cur) {
			flush(cur, n)
			cur, n, sum = start, 0, [5]int{}
		}
		c := p.Counts
		sum = [5]int{sum[0] + c.Total, sum[1] + c.Free, sum[2] + c.Occupied, sum[3] + c.Unknown, sum[4] + c.Closed}
		n++
	}
	flush(cur, n)
	return out
}

// roundCounts divides sums (total, free, occupied, unknown, closed) by n:
// the total rounded to the nearest, and the parts rounded so that they
// still add up to it (largest remainder first).
func roundCounts(sum [5]int, n int) Counts {
	total := int(math.Round(float64(sum[0]) / float64(n)))
	parts := [4]int{}
	rest := total
	for i := range parts {
		parts[i] = sum[i+1] / n
		rest -= parts[i]
	}
	for ; rest > 0; rest-- {
		best := 0
		for i := range parts {
			if sum[i+1]-parts[i]*n > sum[best+1]-parts[best]*n {
				best = i
			}
		}
		parts[best]++
	}
	return Counts{Total: total, Free: parts[0], Occupied: parts[1], Unknown: parts[2], Closed: parts[3]}
}
