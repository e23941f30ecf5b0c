package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// changeWindow is how far back the change log (pk:{Z}:chg) reaches. The
// apply script trims older entries on about one logged change in 16; reads
// count only entries inside the window, so a zone may keep some stale
// entries that nothing counts.
const changeWindow = time.Hour

// SensorHealth returns the sensors of a zone, or of every zone when zoneID
// is "", in space ID order: each space's state and how many times its
// status changed (free/occupied) in the last hour. ENOTFOUND for an unknown
// zone. One pipelined round trip.
func (s *Store) SensorHealth(ctx context.Context, zoneID string) ([]occupancy.SensorHealth, error) {
	var spaces []occupancy.Space
	if zoneID == "" {
		spaces = s.reg.Spaces() // a new slice of every space: only when asked for all
	} else {
		if _, ok := s.zones[zoneID]; !ok {
			return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
		}
		spaces = s.reg.SpacesInZone(zoneID)
	}
	states, err := s.States(ctx, spaces)
	if err != nil {
		return nil, err
	}
	changes, err := s.changesLastHour(ctx, spaces)
	if err != nil {
		return nil, err
	}
	out := make([]occupancy.SensorHealth, len(spaces))
	for i, st := range states {
		out[i] = occupancy.SensorHealth{State: st, ChangesLastHour: changes[spaces[i].ID]}
	}
	return out, nil
}

// changesLastHour counts the logged status changes of the zones of spaces
// within changeWindow, by space id.
func (s *Store) changesLastHour(ctx context.Context, spaces []occupancy.Space) (map[string]int, error) {
	zones := map[string]*redis.StringSliceCmd{}
	from := strconv.FormatInt(s.opts.Now().Add(-changeWindow).UnixMilli(), 10)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, sp := range spaces {
			if _, ok := zones[sp.ZoneID]; !ok {
				zones[sp.ZoneID] = p.ZRangeByScore(ctx, s.zones[sp.ZoneID].changes,
					&redis.ZRangeBy{Min: from, Max: "+inf"})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: read state changes: %w", err)
	}
	n := map[string]int{}
	for _, cmd := range zones {
		for _, m := range cmd.Val() {
			if id, _, ok := strings.Cut(m, "|"); ok {
				n[id]++
			}
		}
	}
	return n, nil
}
