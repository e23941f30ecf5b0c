package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// A registry reload (occupancy/jobs) brings the state in line with the new
// registry one zone and one chunk at a time, each chunk one short script:
// SyncSpaces stores the registry's spaces that have no state and puts each
// in the right free set; DeleteOrphans deletes what belongs to no registry
// space of the zone (states, free-set entries, closures); OrphanIncidents
// resolves the open incidents of such spaces. Each step derives what it does
// from the stored state and the registry alone, so running it again after
// an interruption finishes the work and changes nothing more.

// ReconcileChunk is the most spaces one sync or retire script call takes:
// at a million spaces each call stays around a millisecond (docs/operations.md).
const ReconcileChunk = 200

// scanCount is the COUNT hint of the HSCAN and ZSCAN calls that look for
// orphans.
const scanCount = 1000

// Orphans are the entries of one zone that belong to no registry space of
// the zone.
type Orphans struct {
	// States maps each orphan space id to its packed state.
	States map[string]string
	// Free maps each free set ("free:KIND") to the orphan ids in it.
	Free map[string][]string
	// Closures lists the orphan ids with a closure.
	Closures []string
}

// IDs returns every orphan id once, sorted.
func (o Orphans) IDs() []string {
	ids := append([]string{}, o.Closures...)
	for _, free := range o.Free {
		ids = append(ids, free...)
	}
	for id := range o.States {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// SyncSpaces runs lua/sync.lua over spaces, all of zone zoneID, in calls of
// ReconcileChunk, and returns the states it created and the free-set
// entries it changed. ECONFLICT when the zone is fenced for another
// registry version (the store's registry is not the one in force).
func (s *Store) SyncSpaces(ctx context.Context, zoneID string, spaces []occupancy.Space) (created, changed int, err error) {
	k := s.zones[zoneID]
	keys := append([]string{k.states, k.counters, k.closures()}, k.freeAll...)
	now := msText(s.opts.Now())
	for len(spaces) > 0 {
		chunk := spaces[:min(ReconcileChunk, len(spaces))]
		spaces = spaces[len(chunk):]
		args := make([]any, 0, 2+4*len(chunk))
		args = append(args, s.version(), now)
		for _, sp := range chunk {
			args = append(args, sp.ID, slices.Index(occupancy.Kinds, sp.Kind)+1, sp.Lon, sp.Lat)
		}
		res, err := syncScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
		if fenced(err) {
			return created, changed, fencedError("sync zone "+zoneID, err)
		}
		if err != nil || len(res) != 2 {
			return created, changed, fmt.Errorf("redis store: sync spaces of zone %s: %w %v", zoneID, err, res)
		}
		created, changed = created+int(res[0]), changed+int(res[1])
	}
	return created, changed, nil
}

// FindOrphans scans zone zoneID's states, free sets and closures (HSCAN and
// ZSCAN, a short call each) for entries of spaces that the store's registry
// does not place in that zone.
func (s *Store) FindOrphans(ctx context.Context, zoneID string) (Orphans, error) {
	k := s.zones[zoneID]
	o := Orphans{States: map[string]string{}, Free: map[string][]string{}}
	orphan := func(id string) bool {
		sp, ok := s.reg.Space(id)
		return !ok || sp.ZoneID != zoneID
	}
	err := s.scanHash(ctx, k.states, func(id, v string) {
		if orphan(id) {
			o.States[id] = v
		}
	})
	if err == nil {
		err = s.scanHash(ctx, k.closures(), func(id, _ string) {
			if id != zoneTarget && orphan(id) {
				o.Closures = append(o.Closures, id)
			}
		})
	}
	for _, set := range k.freeAll {
		if err != nil {
			break
		}
		name := set[strings.LastIndex(set, ":free:")+1:]
		err = s.scanSet(ctx, set, func(id string) {
			if orphan(id) {
				o.Free[name] = append(o.Free[name], id)
			}
		})
	}
	if err != nil {
		return o, fmt.Errorf("redis store: find orphans of zone %s: %w", zoneID, err)
	}
	return o, nil
}

// CountStored returns how many states zone zoneID stores, and how many of
// them reg does not place there (what a reload to reg deletes), by HSCAN.
func (s *Store) CountStored(ctx context.Context, zoneID string, reg *occupancy.Registry) (stored, orphans int, err error) {
	err = s.scanHash(ctx, s.zones[zoneID].states, func(id, _ string) {
		stored++
		if sp, ok := reg.Space(id); !ok || sp.ZoneID != zoneID {
			orphans++
		}
	})
	if err != nil {
		return stored, orphans, fmt.Errorf("redis store: count states of zone %s: %w", zoneID, err)
	}
	return stored, orphans, nil
}

// RetireSpaces runs lua/retire.lua over ids, all orphans of zone zoneID, in
// calls of ReconcileChunk, then publishes the zone's counters on the live
// feed. It returns the states deleted, the closures ended and the free-set
// entries removed. ECONFLICT when the zone is fenced for another registry
// version.
func (s *Store) RetireSpaces(ctx context.Context, zoneID string, ids []string) (occupancy.ReloadResult, error) {
	var res occupancy.ReloadResult
	k := s.zones[zoneID]
	keys := append([]string{k.states, k.counters, k.closures(), k.until()}, k.freeAll...)
	for len(ids) > 0 {
		chunk := ids[:min(ReconcileChunk, len(ids))]
		ids = ids[len(chunk):]
		args := make([]any, 0, 2+len(chunk))
		args = append(args, s.version(), msText(s.opts.Now()))
		for _, id := range chunk {
			args = append(args, id)
		}
		n, err := retireScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
		if fenced(err) {
			return res, fencedError("retire spaces of zone "+zoneID, err)
		}
		if err != nil || len(n) != 3 {
			return res, fmt.Errorf("redis store: retire spaces of zone %s: %w %v", zoneID, err, n)
		}
		res.Deleted, res.ClosuresEnded, res.Reindexed = res.Deleted+int(n[0]), res.ClosuresEnded+int(n[1]), res.Reindexed+int(n[2])
	}
	if res.Deleted+res.ClosuresEnded > 0 {
		s.publishZone(ctx, zoneID)
	}
	return res, nil
}

// scanHash calls f with every field and value of a hash, by HSCAN.
func (s *Store) scanHash(ctx context.Context, key string, f func(field, value string)) error {
	var cursor uint64
	for {
		kv, next, err := s.rdb.HScan(ctx, key, cursor, "", scanCount).Result()
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f(kv[i], kv[i+1])
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// scanSet calls f with every member of a sorted set, by ZSCAN.
func (s *Store) scanSet(ctx context.Context, key string, f func(member string)) error {
	var cursor uint64
	for {
		kv, next, err := s.rdb.ZScan(ctx, key, cursor, "", scanCount).Result()
		if err != nil && err != redis.Nil {
			return err
		}
		for i := 0; i < len(kv); i += 2 {
			f(kv[i])
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// DeleteOrphans finds zone zoneID's orphans (FindOrphans) and retires them
// (RetireSpaces).
func (s *Store) DeleteOrphans(ctx context.Context, zoneID string) (occupancy.ReloadResult, error) {
	o, err := s.FindOrphans(ctx, zoneID)
	if err != nil {
		return occupancy.ReloadResult{}, err
	}
	return s.RetireSpaces(ctx, zoneID, o.IDs())
}
