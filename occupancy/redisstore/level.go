package redisstore

import (
	"context"
	"fmt"

	"github.com/qiuai/parking/occupancy"
)

// Zone levels (occupancy.Level) live in the zone's counters hash: lv holds
// the zone type's thresholds (written by Init) and level the current level,
// which the scripts keep following the counters (lua/level.lua).

// initLevels writes every zone's thresholds and sets its level.
func (s *Store) initLevels(ctx context.Context) error {
	for _, z := range s.reg.Zones() {
		th := s.thresholds(z.Type)
		if err := levelScript.Run(ctx, s.rdb, []string{s.zones[z.ID].counters}, th.String()).Err(); err != nil {
			return fmt.Errorf("redis store: level of zone %s: %w", z.ID, err)
		}
	}
	return nil
}

// thresholds returns the level thresholds of a zone type.
func (s *Store) thresholds(t occupancy.ZoneType) occupancy.LevelThresholds {
	if th, ok := s.opts.Levels[t]; ok {
		return th
	}
	return occupancy.DefaultLevelThresholds[occupancy.OnStreet]
}
