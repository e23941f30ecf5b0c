package redisstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// ReloadReport says what a registry reload changed.
type ReloadReport struct {
	// Added are the spaces new in the registry, stored as unknown.
	Added []string `json:"added"`
	// Removed are the spaces no longer in the registry, retired from the
	// state, counters and indexes.
	Removed []string `json:"removed"`
	// Changed are the spaces whose sensor, kind, position or other
	// attributes changed; their live state is kept (a free one is moved in
	// the free-space index). A space that moved to another zone is listed
	// as removed and added instead.
	Changed []string `json:"changed"`
	// Unchanged counts the spaces kept as they were.
	Unchanged int `json:"unchanged"`
	// Spaces and Zones count the new registry.
	Spaces int `json:"spaces"`
	Zones  int `json:"zones"`
	// ReloadedAt is when the reload finished.
	ReloadedAt time.Time `json:"reloaded_at"`
}

// reloadMu serialises reloads of any Store in the process.
var reloadMu sync.Mutex

// retireGrace is how long after retiring removed spaces Reload retires them
// again: a reading of a removed sensor that ingest had looked up in the old
// registry before the swap, and that Redis runs after the first pass,
// re-creates the space's state; every apply attempt gives up within 2 s.
var retireGrace = 2500 * time.Millisecond

// Reload makes next the store's registry: it replaces the Registry the
// store was built with (occupancy.Registry.Replace, so every component
// holding it sees the new one), stores the new spaces as unknown (as Init
// does), retires the removed ones (state, counters, last-seen and free
// indexes, one atomic script per zone) and keeps the live state of the
// others. The zones must be the same (ids; their names and attributes may
// change): adding or removing a zone needs a restart (ECONFLICT). Several
// parkd instances each reload their own registry; the Redis side is
// idempotent, so reloading the same files on every instance is safe.
func (s *Store) Reload(ctx context.Context, next *occupancy.Registry) (ReloadReport, error) {
	reloadMu.Lock()
	defer reloadMu.Unlock()
	cur := s.reg.Snapshot()
	if err := sameZones(cur, next); err != nil {
		return ReloadReport{}, err
	}
	rep := diffRegistries(cur, next)
	s.reg.Replace(next)
	if err := s.Init(ctx); err != nil {
		return rep, fmt.Errorf("redis store: reload: %w", err)
	}
	if err := s.retire(ctx, cur, rep.Removed); err != nil {
		return rep, err
	}
	if err := s.reindex(ctx, rep.Changed); err != nil {
		return rep, err
	}
	if len(rep.Removed) > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(retireGrace):
		}
		if err := s.retire(context.WithoutCancel(ctx), cur, rep.Removed); err != nil {
			return rep, err
		}
	}
	rep.ReloadedAt = s.opts.Now().UTC()
	s.opts.Logger.Info("registry reloaded", "added", len(rep.Added), "removed", len(rep.Removed),
		"changed", len(rep.Changed), "spaces", rep.Spaces)
	return rep, nil
}

// sameZones refuses a registry whose zone ids differ from cur's.
func sameZones(cur, next *occupancy.Registry) error {
	ids := func(r *occupancy.Registry) []string {
		var out []string
		for _, z := range r.Zones() {
			out = append(out, z.ID)
		}
		slices.Sort(out)
		return out
	}
	if a, b := ids(cur), ids(next); !slices.Equal(a, b) {
		return occupancy.Errorf(occupancy.ECONFLICT,
			"the new registry's zones %v differ from the running ones %v: adding or removing a zone needs a restart", b, a)
	}
	return nil
}

// diffRegistries compares the spaces of two registries.
// It walks them with SpaceAt: Spaces would copy each whole registry.
func diffRegistries(cur, next *occupancy.Registry) ReloadReport {
	cur, next = cur.Snapshot(), next.Snapshot()
	rep := ReloadReport{Added: []string{}, Removed: []string{}, Changed: []string{},
		Spaces: next.NumSpaces(), Zones: len(next.Zones())}
	for i := range next.NumSpaces() {
		sp := next.SpaceAt(i)
		old, ok := cur.Space(sp.ID)
		switch {
		case !ok:
			rep.Added = append(rep.Added, sp.ID)
		case old.ZoneID != sp.ZoneID:
			rep.Added, rep.Removed = append(rep.Added, sp.ID), append(rep.Removed, sp.ID)
		case old != sp:
			rep.Changed = append(rep.Changed, sp.ID)
		default:
			rep.Unchanged++
		}
	}
	for i := range cur.NumSpaces() {
		id := cur.SpaceAt(i).ID
		if _, ok := next.Space(id); !ok {
			rep.Removed = append(rep.Removed, id)
		}
	}
	slices.Sort(rep.Removed)
	return rep
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
		keys := append([]string{k.states, k.counters, k.seen}, k.freeAll...)
		if err := retireScript.Run(ctx, s.rdb, keys, zids...).Err(); err != nil && err != redis.Nil {
			return fmt.Errorf("redis store: retire spaces of zone %s: %w", zone, err)
		}
	}
	return nil
}

// reindex moves changed spaces that are free to their (new) kind's free
// index at their (new) position.
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

// retireScript deletes spaces of one zone and takes them out of its
// counters and indexes. KEYS: 1 states hash, 2 counters hash, 3 last-seen
// zset, 4.. the zone's free geo sets. ARGV: space ids. Returns how many it
// retired.
var retireScript = redis.NewScript(luaCommon + `
local n = 0
for _, id in ipairs(ARGV) do
  local cur = redis.call('HGET', KEYS[1], id)
  if cur then
    local t = parse(cur)
    redis.call('HINCRBY', KEYS[2], names[t[1]], -1)
    redis.call('HINCRBY', KEYS[2], 'total', -1)
    redis.call('HDEL', KEYS[1], id)
    n = n + 1
  end
  redis.call('ZREM', KEYS[3], id)
  for i = 4, #KEYS do redis.call('ZREM', KEYS[i], id) end
end
return n
`)

// reindexScript puts a free space in its kind's free set at its position
// and takes it out of the others. KEYS: 1 states hash, 2 the free set of
// its kind, 3.. every free set of the zone. ARGV: 1 space id, 2 lon, 3 lat.
var reindexScript = redis.NewScript(luaCommon + `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or parse(cur)[1] ~= 'f' then return 0 end
for i = 3, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
redis.call('GEOADD', KEYS[2], ARGV[2], ARGV[3], ARGV[1])
return 1
`)
