package redisstore

import (
	"context"
	"errors"
	"fmt"
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
	return occupancy.KeepFree(found, states, readAt, limit), nil
}

// NearestFreeZones returns up to n zones that have free spaces of q's kind
// and zone type, nearest q's point first, whatever q's radius: what to offer
// a driver when Nearby finds nothing. Distance is to the zone's centre.
// EINVALID for a bad query.
func (s *Store) NearestFreeZones(ctx context.Context, q occupancy.NearbyQuery, n int) ([]occupancy.NearbyZone, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return occupancy.NearestFreeZones(s.reg.Zones(), q, n, func(batch []occupancy.NearbyZone) error {
		return s.countFree(ctx, batch, q.Kind)
	})
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
