package main

import (
	"fmt"
	"maps"

	"github.com/qiuai/parking/occupancy"
)

// validLevels checks the config's zone level thresholds: known zone types
// and thresholds in order.
func validLevels(levels map[occupancy.ZoneType]occupancy.LevelThresholds) error {
	for zt, th := range levels {
		if _, ok := occupancy.DefaultLevelThresholds[zt]; !ok {
			return fmt.Errorf("config: levels: zone type %q is not on_street or off_street", zt)
		}
		if err := th.Validate(); err != nil {
			return fmt.Errorf("config: levels.%s: %w", zt, err)
		}
	}
	return nil
}

// levelThresholds is occupancy.DefaultLevelThresholds with the config's
// entries over it.
func levelThresholds(levels map[occupancy.ZoneType]occupancy.LevelThresholds) map[occupancy.ZoneType]occupancy.LevelThresholds {
	out := maps.Clone(occupancy.DefaultLevelThresholds)
	maps.Copy(out, levels)
	return out
}

// healthRules are the rules the incident detector and /api/v1/sensors judge
// sensors by: the config's thresholds and offline limit.
func (c Config) healthRules() occupancy.HealthRules {
	return occupancy.HealthRules{OfflineAfter: c.OfflineAfter, LowBatteryMV: c.Health.LowBatteryMV,
		FlapChanges: c.Health.FlapChanges}.WithDefaults()
}
