package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Zone levels (occupancy.Level) live in the zone's counters hash: "lv" holds
// the zone type's thresholds ("afOn,afOff,fullOn,fullOff", written by Init)
// and "level" the current level. luaCommon's relevel recomputes the level
// whenever move shifts the counters, in the same script, so the level always
// follows the counters with hysteresis (occupancy.NextLevel is the rule).

// levelScript stores a zone's thresholds and recomputes its level.
//
// KEYS: 1 counters hash. ARGV: 1 thresholds. Returns the level.
var levelScript = redis.NewScript(luaCommon + `
redis.call('HSET', KEYS[1], 'lv', ARGV[1])
relevel(KEYS[1])
return redis.call('HGET', KEYS[1], 'level')
`)

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
