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

// registryMu orders applies around a registry swap. Apply and ApplyBatch
// hold it for reading from the moment they look a sensor up in the registry
// until Redis has answered (lockRegistry); Reload holds it for writing while
// it replaces the registry. So once the swap is done, every apply that used
// the old registry has run in Redis, before Reload's retire and reindex
// passes: none can put a space back in its old kind's free set or re-create
// a removed space behind them. It is process-wide like reloadMu (one Store
// per process in parkd; a reload waits at most for the applies in flight).
var registryMu sync.RWMutex

// lockRegistry holds the registry for an apply (registryMu) and returns the
// function that releases it.
func lockRegistry() func() {
	registryMu.RLock()
	return registryMu.RUnlock
}

// retireGrace is how long after its first pass Reload retires the removed
// spaces and re-indexes the changed ones again. registryMu makes the first
// pass enough for the applies of this process that Redis answered; the
// second pass is for one whose caller gave up waiting (a context deadline;
// every apply attempt gives up within 2 s) while its script was still on
// the way to Redis: run after the first pass, it can re-create a removed
// space or put a changed one in its old kind's free set.
var retireGrace = 2500 * time.Millisecond

// Reload makes next the store's registry: it replaces the Registry the
// store was built with (occupancy.Registry.Replace, so every component
// holding it sees the new one), stores the new spaces as unknown (as Init
// does), retires the removed ones (state, counters and free
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
	registryMu.Lock() // waits for the applies that looked up cur
	s.reg.Replace(next)
	registryMu.Unlock()
	if err := s.Init(ctx); err != nil {
		return rep, fmt.Errorf("redis store: reload: %w", err)
	}
	if err := s.repairReloaded(ctx, cur, rep); err != nil {
		return rep, err
	}
	if len(rep.Removed)+len(rep.Changed) > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(retireGrace):
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

// repairReloaded retires the spaces rep removed from old and re-indexes the
// ones it changed. Both steps derive the result from the stored state and
// the current registry only, so running them again is harmless.
func (s *Store) repairReloaded(ctx context.Context, old *occupancy.Registry, rep ReloadReport) error {
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

// retireScript deletes spaces of one zone and takes them out of its
// counters and indexes. KEYS: 1 states hash, 2 counters hash, 3.. the
// zone's free geo sets. ARGV: space ids. Returns how many it
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
  for i = 3, #KEYS do redis.call('ZREM', KEYS[i], id) end
end
return n
`)

// reindexScript takes a space out of every free set of its zone and, if it
// is free, puts it in its kind's set at its position. A space that is not
// free is taken out too: an apply that used the old registry may have left
// it in its old kind's set (it removes a space only from the set of the kind
// it was given). KEYS: 1 states hash, 2 the free set of its kind, 3.. every
// free set of the zone. ARGV: 1 space id, 2 lon, 3 lat. Returns 1 if the
// space is free.
var reindexScript = redis.NewScript(luaCommon + `
for i = 3, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or parse(cur)[1] ~= 'f' then return 0 end
redis.call('GEOADD', KEYS[2], ARGV[2], ARGV[3], ARGV[1])
return 1
`)
