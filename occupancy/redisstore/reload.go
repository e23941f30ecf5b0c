package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Registry swaps and applies: ApplyBatch holds Store.regMu for reading
// from the moment it looks a sensor up in the registry until Redis has
// answered; Reload holds it for writing while it replaces the registry. So
// once the swap is done, every apply of this store that used the old
// registry has run in Redis, before Reload's retire and reindex passes:
// none can put a space back in its old kind's free set or re-create a
// removed space behind them. A second pass, RetireGrace later, is for an
// apply whose caller gave up waiting (a context deadline; every ingest
// attempt gives up within 2 s) while its script was still on the way to
// Redis: run after the first pass, it can re-create a removed space or put
// a changed one in its old kind's free set.
//
// Reload makes next the store's registry: it replaces the Registry the
// store was built with (occupancy.Registry.Replace, so every component
// holding it sees the new one), stores the new spaces as unknown (as Init
// does), retires the removed ones (state, counters and free
// indexes, one atomic script per zone) and keeps the live state of the
// others. The zones must be the same (ids; their names and attributes may
// change): adding or removing a zone needs a restart (ECONFLICT). Several
// parkd instances each reload their own registry; the Redis side is
// idempotent, so reloading the same files on every instance is safe.
func (s *Store) Reload(ctx context.Context, next *occupancy.Registry) (occupancy.ReloadReport, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	cur := s.reg.Snapshot()
	if err := occupancy.SameZones(cur, next); err != nil {
		return occupancy.ReloadReport{}, err
	}
	rep := occupancy.DiffRegistries(cur, next)
	s.regMu.Lock() // waits for the applies that looked up cur
	s.reg.Replace(next)
	s.regMu.Unlock()
	if err := s.Init(ctx); err != nil {
		return rep, fmt.Errorf("redis store: reload: %w", err)
	}
	if err := s.repairReloaded(ctx, cur, rep); err != nil {
		return rep, err
	}
	if len(rep.Removed)+len(rep.Changed) > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(s.opts.RetireGrace):
		}
		if err := s.repairReloaded(context.WithoutCancel(ctx), cur, rep); err != nil {
			return rep, err
		}
	}
	rep.ReloadedAt = s.opts.Now().UTC()
	s.opts.Logger.Info("registry reloaded", "added", len(rep.Added), "removed", len(rep.Removed),
		"changed", len(rep.Changed), "spaces", rep.Spaces)
	return rep, nil
}

// repairReloaded retires the spaces rep removed from old and re-indexes the
// ones it changed. Both steps derive the result from the stored state and
// the current registry only, so running them again is harmless.
func (s *Store) repairReloaded(ctx context.Context, old *occupancy.Registry, rep occupancy.ReloadReport) error {
	if err := s.retire(ctx, old, rep.Removed); err != nil {
		return err
	}
	return s.reindex(ctx, rep.Changed)
}

// retire removes the given spaces, as placed in the registry old, from
// their zones' state.
func (s *Store) retire(ctx context.Context, old *occupancy.Registry, ids []string) error {
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

// reindex re-derives the free-index membership of changed spaces from
// their stored state: each is taken out of every free set of its zone and,
// if free, put in its (new) kind's set at its (new) position.
func (s *Store) reindex(ctx context.Context, ids []string) error {
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
