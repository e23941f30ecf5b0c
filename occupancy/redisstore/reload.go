package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// SwapRegistry makes next the store's registry: it replaces the Registry
// the store was built with (occupancy.Registry.Replace, so every part
// holding it sees the new one). It waits for the applies in flight: an
// apply holds the store's registry lock from the moment it looks a sensor
// up until Redis has answered, so once SwapRegistry returns, every apply
// of this store that used the old registry has run in Redis, and none can
// undo a Retire or Reindex that follows. The zones must stay the same
// (occupancy.SameZones).
func (s *Store) SwapRegistry(next *occupancy.Registry) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.reg.Replace(next)
}

// Retire removes the given spaces, as placed in the registry old, from
// their zones' state, counters and free sets: one atomic script per zone,
// harmless to run again.
func (s *Store) Retire(ctx context.Context, old *occupancy.Registry, ids []string) error {
	byZone := map[string][]any{}
	for _, id := range ids {
		if sp, ok := old.Space(id); ok {
			byZone[sp.ZoneID] = append(byZone[sp.ZoneID], id)
		}
	}
	for zone, zids := range byZone {
		k := s.zones[zone]
		keys := append([]string{k.states, k.counters}, k.freeAll...)
		if err := retireScript.Run(ctx, s.rdb, keys, zids...).Err(); err != nil && err != redis.Nil {
			return fmt.Errorf("redis store: retire spaces of zone %s: %w", zone, err)
		}
	}
	return nil
}

// Reindex re-derives the free-set membership of changed spaces from their
// stored state: each is taken out of every free set of its zone and, if
// free, put in its (new) kind's set at its (new) position. Harmless to run
// again.
func (s *Store) Reindex(ctx context.Context, ids []string) error {
	for _, id := range ids {
		sp, ok := s.reg.Space(id)
		if !ok {
			continue
		}
		k := s.zones[sp.ZoneID]
		keys := append([]string{k.states, k.free[sp.Kind]}, k.freeAll...)
		if err := reindexScript.Run(ctx, s.rdb, keys, id, sp.Lon, sp.Lat).Err(); err != nil && err != redis.Nil {
			return fmt.Errorf("redis store: reindex space %s: %w", id, err)
		}
	}
	return nil
}
