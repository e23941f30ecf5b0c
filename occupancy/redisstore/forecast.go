package redisstore

import (
	"context"
	"time"

	"github.com/qiuai/parking/occupancy"
)

const week = 7 * 24 * time.Hour

// Forecast estimates the free spaces of zoneID (or of the whole town with
// occupancy.AllZones) at at, from the history: see occupancy.EstimateFree.
// EINVALID when at is in the past (before the current bucket) or more than
// occupancy.ForecastMaxAhead ahead, ENOTFOUND for an unknown zone.
func (s *Store) Forecast(ctx context.Context, zoneID string, at time.Time) (occupancy.Forecast, error) {
	now := s.opts.Now()
	if at.Before(occupancy.BucketStart(now)) || at.After(now.Add(occupancy.ForecastMaxAhead)) {
		return occupancy.Forecast{}, occupancy.Errorf(occupancy.EINVALID,
			"at must be between now and %s ahead", occupancy.ForecastMaxAhead)
	}
	in := occupancy.ForecastInput{At: at, Now: now}
	var err error
	if in.Current, err = s.currentCounts(ctx, zoneID); err != nil {
		return occupancy.Forecast{}, err
	}
	for k := range in.Weeks {
		t := occupancy.BucketStart(at).Add(-time.Duration(k+1) * week)
		pts, err := s.History(ctx, zoneID, t, t.Add(occupancy.HistoryStep))
		if err != nil {
			return occupancy.Forecast{}, err
		}
		if len(pts) == 1 {
			in.Weeks[k] = &pts[0]
		}
	}
	if in.LastHour, err = s.History(ctx, zoneID, now.Add(-time.Hour), now); err != nil {
		return occupancy.Forecast{}, err
	}
	for k := 1; k <= occupancy.ForecastWeeks; k++ {
		ago := time.Duration(k) * week
		pts, err := s.History(ctx, zoneID, now.Add(-time.Hour-ago), now.Add(-ago))
		if err != nil {
			return occupancy.Forecast{}, err
		}
		in.UsualLastHour = append(in.UsualLastHour, pts...)
	}
	return occupancy.EstimateFree(in), nil
}

// currentCounts returns the live counters of zoneID, or the town's sum.
func (s *Store) currentCounts(ctx context.Context, zoneID string) (occupancy.Counts, error) {
	if zoneID != occupancy.AllZones {
		z, err := s.Zone(ctx, zoneID)
		return z.Counts, err
	}
	zones, err := s.Zones(ctx)
	var c occupancy.Counts
	for _, z := range zones {
		c.Add(z.Counts)
	}
	return c, err
}
