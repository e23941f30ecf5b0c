package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Nearby returns the free spaces nearest q's point within its radius,
// nearest first. EINVALID for a bad query.
//
// Only zones whose circle reaches the search circle are asked, one GEORADIUS
// per zone and kind, in one pipeline. States are read back afterwards and
// spaces taken meanwhile are left out, so the answer never lists a space
// that is not free.
func (s *Store) Nearby(ctx context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	keys := s.nearbyKeys(q)
	cmds := make([]*redis.GeoLocationCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, key := range keys {
			cmds[i] = p.GeoRadius(ctx, key, q.Lon, q.Lat, &redis.GeoRadiusQuery{
				Radius: q.RadiusM, Unit: "m", WithDist: true, Sort: "ASC", Count: q.Limit,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: nearby: %w", err)
	}
	var found []occupancy.NearbySpace
	for _, cmd := range cmds {
		for _, loc := range cmd.Val() {
			if sp, ok := s.reg.Space(loc.Name); ok {
				found = append(found, occupancy.NearbySpace{Space: sp, DistanceM: loc.Dist})
			}
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].DistanceM != found[j].DistanceM {
			return found[i].DistanceM < found[j].DistanceM
		}
		return found[i].Space.ID < found[j].Space.ID
	})
	return s.keepFree(ctx, found, q.Limit)
}

// nearbyKeys lists the free sets that may hold a space within q's circle.
func (s *Store) nearbyKeys(q occupancy.NearbyQuery) []string {
	var keys []string
	for _, z := range s.reg.Zones() {
		// A little slack for GEO's 52-bit precision and the spherical model.
		if q.ZoneType != "" && z.Type != q.ZoneType ||
			occupancy.Distance(q.Lat, q.Lon, z.Lat, z.Lon)-s.reg.ZoneRadius(z.ID) > q.RadiusM+1 {
			continue
		}
		k := s.zones[z.ID]
		if q.Kind != "" {
			keys = append(keys, k.free[q.Kind])
			continue
		}
		keys = append(keys, k.freeAll...)
	}
	return keys
}

// keepFree reads the states of the candidates, drops those no longer free and
// returns at most limit of them.
func (s *Store) keepFree(ctx context.Context, found []occupancy.NearbySpace, limit int) ([]occupancy.NearbySpace, error) {
	found = found[:min(len(found), 2*limit)]
	spaces := make([]occupancy.Space, len(found))
	for i, f := range found {
		spaces[i] = f.Space
	}
	readAt := s.opts.Now().UTC().Truncate(time.Millisecond)
	states, err := s.States(ctx, spaces)
	if err != nil {
		return nil, err
	}
	out := make([]occupancy.NearbySpace, 0, limit)
	for i, f := range found {
		if states[i].Status != occupancy.StatusFree || len(out) == limit {
			continue
		}
		f.State, f.ObservedAt = states[i], readAt
		f.DistanceM = math.Round(f.DistanceM*10) / 10
		out = append(out, f)
	}
	return out, nil
}

// nearestZonesBatch is how many zones NearestFreeZones reads per round trip,
// nearest first.
const nearestZonesBatch = 16

// NearestFreeZones returns up to n zones that have free spaces of q's kind
// and zone type, nearest q's point first, whatever q's radius: what to offer
// a driver when Nearby finds nothing. Distance is to the zone's centre.
// EINVALID for a bad query.
func (s *Store) NearestFreeZones(ctx context.Context, q occupancy.NearbyQuery, n int) ([]occupancy.NearbyZone, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return nearestFreeZones(s.reg.Zones(), q, n, func(batch []occupancy.NearbyZone) error {
		return s.countFree(ctx, batch, q.Kind)
	})
}

// nearestFreeZones walks zones of q's zone type nearest q's point first,
// nearestZonesBatch at a time, has count fill in their free spaces, and
// returns the first n with some free, distances rounded to 0.1 m.
func nearestFreeZones(zones []occupancy.Zone, q occupancy.NearbyQuery, n int, count func([]occupancy.NearbyZone) error) ([]occupancy.NearbyZone, error) {
	var cand []occupancy.NearbyZone
	for _, z := range zones {
		if q.ZoneType == "" || z.Type == q.ZoneType {
			cand = append(cand, occupancy.NearbyZone{Zone: z, DistanceM: occupancy.Distance(q.Lat, q.Lon, z.Lat, z.Lon)})
		}
	}
	sort.SliceStable(cand, func(i, j int) bool { return cand[i].DistanceM < cand[j].DistanceM })
	out := make([]occupancy.NearbyZone, 0, n)
	for i := 0; i < len(cand) && len(out) < n; i += nearestZonesBatch {
		batch := cand[i:min(i+nearestZonesBatch, len(cand))]
		if err := count(batch); err != nil {
			return nil, err
		}
		for _, z := range batch {
			if z.Free > 0 && len(out) < n {
				z.DistanceM = math.Round(z.DistanceM*10) / 10
				out = append(out, z)
			}
		}
	}
	return out, nil
}

// countFree fills in each zone's free spaces: the zone counter for any kind,
// the size of the kind's free set otherwise. One round trip.
func (s *Store) countFree(ctx context.Context, zones []occupancy.NearbyZone, kind occupancy.Kind) error {
	counters := make([]*redis.StringCmd, len(zones))
	sets := make([]*redis.IntCmd, len(zones))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range zones {
			k := s.zones[z.Zone.ID]
			if kind == "" {
				counters[i] = p.HGet(ctx, k.counters, "free")
			} else {
				sets[i] = p.ZCard(ctx, k.free[kind])
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis store: nearest free zones: %w", err)
	}
	for i := range zones {
		if kind == "" {
			zones[i].Free, _ = strconv.Atoi(counters[i].Val())
		} else {
			zones[i].Free = int(sets[i].Val())
		}
	}
	return nil
}

// Nearby answers as Store.Nearby does, from the index when it is synced and
// fresh: the nearest spaces the index holds free, with the states it holds
// (or, with Confirm, the 2×limit nearest, then their states in one round
// trip, keeping those Redis says are free). Otherwise (not synced yet, or
// not heard from Redis for MaxLag) it takes the Redis path. EINVALID for a
// bad query.
func (f *FreeIndex) Nearby(ctx context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v := f.fresh()
	if v == nil {
		f.stats.fromRedis.Add(1)
		return f.s.Nearby(ctx, q)
	}
	f.stats.fromIndex.Add(1)
	cands := v.nearest(q, 2*q.Limit)
	if !f.opts.Confirm {
		return f.answer(v, cands, q.Limit), nil
	}
	found := make([]occupancy.NearbySpace, 0, len(cands))
	for _, c := range cands {
		if sp, ok := f.space(v, c); ok {
			found = append(found, occupancy.NearbySpace{Space: sp, DistanceM: c.dist})
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	return f.s.keepFree(ctx, found, q.Limit)
}

// space returns the registry's space of candidate c, unless the registry
// was reloaded since the view was built and changed it (then it has the
// index rebuilt).
func (f *FreeIndex) space(v *freeView, c candidate) (occupancy.Space, bool) {
	sp, ok := f.s.reg.Space(v.ids[c.n])
	if !ok || !v.matches(c.n, sp) {
		f.Rebuild()
		return occupancy.Space{}, false
	}
	return sp, true
}

// NearestFreeZones answers as Store.NearestFreeZones does, from the
// index's counts of free spaces by zone and kind when it is synced and
// fresh (no Redis command), else from Redis. EINVALID for a bad query.
func (f *FreeIndex) NearestFreeZones(ctx context.Context, q occupancy.NearbyQuery, n int) ([]occupancy.NearbyZone, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v := f.fresh()
	if v == nil {
		return f.s.NearestFreeZones(ctx, q, n)
	}
	return nearestFreeZones(v.reg.Zones(), q, n, func(batch []occupancy.NearbyZone) error {
		for i := range batch {
			batch[i].Free = v.freeIn(v.zoneIdx[batch[i].Zone.ID], q.Kind)
		}
		return nil
	})
}

// answer returns up to limit of the candidates cands, nearest first, with
// the states the view holds: those still in the registry and still free
// when their states are read (a candidate may be taken meanwhile). Nil if
// there are none.
func (f *FreeIndex) answer(v *freeView, cands []candidate, limit int) []occupancy.NearbySpace {
	packed, at := v.states(cands)
	var out []occupancy.NearbySpace
	for i, c := range cands {
		if packed[i] == "" {
			continue // taken since the candidates were chosen
		}
		sp, ok := f.space(v, c)
		if !ok {
			continue
		}
		if out == nil {
			out = make([]occupancy.NearbySpace, 0, min(limit, len(cands)-i))
		}
		out = append(out, occupancy.NearbySpace{Space: sp, State: decodeState(sp.ID, packed[i]),
			DistanceM: math.Round(c.dist*10) / 10, ObservedAt: time.UnixMilli(at[i]).UTC()})
		if len(out) == limit {
			break
		}
	}
	return out
}

// IndexedStore is a Store whose Nearby answers from a FreeIndex and whose
// Reload rebuilds the index. Every other method is the Store's.
type IndexedStore struct {
	*Store
	Free *FreeIndex
}

// Nearby is FreeIndex.Nearby.
func (s IndexedStore) Nearby(ctx context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error) {
	return s.Free.Nearby(ctx, q)
}

// NearestFreeZones is FreeIndex.NearestFreeZones.
func (s IndexedStore) NearestFreeZones(ctx context.Context, q occupancy.NearbyQuery, n int) ([]occupancy.NearbyZone, error) {
	return s.Free.NearestFreeZones(ctx, q, n)
}

// Reload is Store.Reload, then a rebuild of the index.
func (s IndexedStore) Reload(ctx context.Context, next *occupancy.Registry) (ReloadReport, error) {
	rep, err := s.Store.Reload(ctx, next)
	s.Free.Rebuild()
	return rep, err
}

// CloseSpace is Store.CloseSpace; the index takes the space's new state
// before it returns, so nearby stops offering it at once.
func (s IndexedStore) CloseSpace(ctx context.Context, id string, c occupancy.Closure) (occupancy.Closure, error) {
	c, err := s.Store.CloseSpace(ctx, id, c)
	if err == nil {
		s.Free.refresh(ctx, []string{id})
	}
	return c, err
}

// CloseZone is Store.CloseZone; the index takes the zone's new states
// before it returns.
func (s IndexedStore) CloseZone(ctx context.Context, id string, c occupancy.Closure) (occupancy.Closure, error) {
	c, err := s.Store.CloseZone(ctx, id, c)
	if err == nil {
		s.Free.refresh(ctx, s.zoneIDs(id))
	}
	return c, err
}

// OpenSpace is Store.OpenSpace; the index takes the space's new state
// before it returns.
func (s IndexedStore) OpenSpace(ctx context.Context, id string) error {
	err := s.Store.OpenSpace(ctx, id)
	if err == nil {
		s.Free.refresh(ctx, []string{id})
	}
	return err
}

// OpenZone is Store.OpenZone; the index takes the zone's new states before
// it returns.
func (s IndexedStore) OpenZone(ctx context.Context, id string) error {
	err := s.Store.OpenZone(ctx, id)
	if err == nil {
		s.Free.refresh(ctx, s.zoneIDs(id))
	}
	return err
}

// zoneIDs lists the ids of a zone's spaces.
func (s IndexedStore) zoneIDs(zoneID string) []string {
	spaces := s.reg.SpacesInZone(zoneID)
	ids := make([]string, len(spaces))
	for i, sp := range spaces {
		ids[i] = sp.ID
	}
	return ids
}

// refresh reads the states of the given spaces into the index now, rather
// than when their events arrive: read-your-writes for the closures made
// through this process. Best effort: on an error the events still come.
func (f *FreeIndex) refresh(ctx context.Context, ids []string) {
	v := f.view.Load()
	if v == nil || f.opts.Confirm {
		return // with Confirm, Nearby reads the states from Redis anyway
	}
	changed := map[int][]int32{}
	for _, id := range ids {
		sp, ok := v.reg.Space(id)
		if !ok {
			continue
		}
		zi := v.zoneIdx[sp.ZoneID]
		if n, ok := v.find(zi, id); ok {
			changed[zi] = append(changed[zi], int32(n))
		}
	}
	if err := f.fetch(ctx, v, changed); err != nil {
		f.s.opts.Logger.Warn("free index: refresh after a closure", "err", err)
	}
}
