package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Closures live beside a zone's states, in the zone's hash tag: its
// closures hash and until set (lua/closure.lua says how they close and open
// spaces).

// zoneTarget is the closures field of a whole-zone closure.
const zoneTarget = "*"

// The closure script's operations.
const (
	opClose  = "close"
	opOpen   = "open"
	opExpire = "expire" // open only if the target's until has passed
)

// CloseSpace closes one space: it reports closed and is not free until
// OpenSpace or c.Until. Closing a closed space replaces its closure.
// c.Target and c.Zone are set from id. ENOTFOUND for a space not in the
// registry, EINVALID for a bad closure.
func (s *Store) CloseSpace(ctx context.Context, id string, c occupancy.Closure) (occupancy.Closure, error) {
	sp, ok := s.reg.Space(id)
	if !ok {
		return c, occupancy.Errorf(occupancy.ENOTFOUND, "space %s not found", id)
	}
	c.Target, c.Zone = id, false
	return s.close(ctx, sp.ZoneID, id, c, []occupancy.Space{sp})
}

// CloseZone closes every space of a zone, as CloseSpace does for one.
// Spaces with their own closure keep it, and stay closed after OpenZone
// until it ends. ENOTFOUND for an unknown zone, EINVALID for a bad closure.
func (s *Store) CloseZone(ctx context.Context, id string, c occupancy.Closure) (occupancy.Closure, error) {
	if _, ok := s.zones[id]; !ok {
		return c, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", id)
	}
	c.Target, c.Zone = id, true
	return s.close(ctx, id, zoneTarget, c, s.reg.SpacesInZone(id))
}

// OpenSpace ends a space's own closure: it reports its sensor's status
// again at once (unknown if the sensor is silent). Opening an open space
// does nothing. ENOTFOUND for an unknown space, ECONFLICT while its zone is
// closed.
func (s *Store) OpenSpace(ctx context.Context, id string) error {
	sp, ok := s.reg.Space(id)
	if !ok {
		return occupancy.Errorf(occupancy.ENOTFOUND, "space %s not found", id)
	}
	res, err := s.runClosure(ctx, sp.ZoneID, opOpen, id, "", "", []occupancy.Space{sp})
	if err != nil {
		return err
	}
	if res == "zone_closed" {
		return occupancy.Errorf(occupancy.ECONFLICT, "zone %s of space %s is closed; open the zone", sp.ZoneID, id)
	}
	return nil
}

// OpenZone ends a zone's closure: its spaces without a closure of their
// own reopen. ENOTFOUND for an unknown zone.
func (s *Store) OpenZone(ctx context.Context, id string) error {
	if _, ok := s.zones[id]; !ok {
		return occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", id)
	}
	_, err := s.runClosure(ctx, id, opOpen, zoneTarget, "", "", s.reg.SpacesInZone(id))
	return err
}

// Closure returns the closure of a space (its own, else its zone's) or of
// a zone (zone true), and whether there is one.
func (s *Store) Closure(ctx context.Context, id string, zone bool) (occupancy.Closure, bool, error) {
	zoneID, field := id, zoneTarget
	if !zone {
		sp, ok := s.reg.Space(id)
		if !ok {
			return occupancy.Closure{}, false, occupancy.Errorf(occupancy.ENOTFOUND, "space %s not found", id)
		}
		zoneID, field = sp.ZoneID, id
	}
	k, ok := s.zones[zoneID]
	if !ok {
		return occupancy.Closure{}, false, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", id)
	}
	vals, err := s.rdb.HMGet(ctx, k.closures(), field, zoneTarget).Result()
	if err != nil {
		return occupancy.Closure{}, false, fmt.Errorf("redis store: get closure of %s: %w", id, err)
	}
	for _, v := range vals {
		if str, ok := v.(string); ok {
			var c occupancy.Closure
			if err := json.Unmarshal([]byte(str), &c); err != nil {
				return c, false, fmt.Errorf("redis store: closure of %s: %w", id, err)
			}
			return c, true, nil
		}
	}
	return occupancy.Closure{}, false, nil
}

// ReopenDue opens every closure whose Until has passed, and returns how
// many it opened. Safe on several instances at once: the script opens a
// closure only if its until is still due, so a closure renewed in between
// stays.
func (s *Store) ReopenDue(ctx context.Context) (int, error) {
	now := s.opts.Now()
	nowMS := strconv.FormatInt(now.UnixMilli(), 10)
	zones := s.reg.Zones()
	cmds := make([]*redis.StringSliceCmd, len(zones))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range zones {
			cmds[i] = p.ZRangeByScore(ctx, s.zones[z.ID].until(), &redis.ZRangeBy{Min: "-inf", Max: nowMS})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("redis store: due closures: %w", err)
	}
	n := 0
	for i, z := range zones {
		for _, target := range cmds[i].Val() {
			spaces := s.reg.SpacesInZone(z.ID)
			if target != zoneTarget {
				sp, ok := s.reg.Space(target)
				if !ok || sp.ZoneID != z.ID {
					continue // a space retired since: its closure stays until check or reload
				}
				spaces = []occupancy.Space{sp}
			}
			res, err := s.runClosure(ctx, z.ID, opExpire, target, "", "", spaces)
			if err != nil {
				return n, err
			}
			if res == "ok" {
				n++
			}
		}
	}
	return n, nil
}

// close validates c, stores it under target and closes spaces. It returns
// c as stored, with ClosedAt set.
func (s *Store) close(ctx context.Context, zoneID, target string, c occupancy.Closure, spaces []occupancy.Space) (occupancy.Closure, error) {
	now := s.opts.Now()
	if err := c.Validate(now); err != nil {
		return c, err
	}
	if c.ClosedAt.IsZero() {
		c.ClosedAt = now.UTC()
	}
	body, err := json.Marshal(c)
	if err != nil {
		return c, fmt.Errorf("redis store: closure of %s: %w", target, err)
	}
	until := ""
	if !c.Until.IsZero() {
		until = strconv.FormatInt(c.Until.UnixMilli(), 10)
	}
	_, err = s.runClosure(ctx, zoneID, opClose, target, string(body), until, spaces)
	return c, err
}

// runClosure runs closureScript on one zone.
func (s *Store) runClosure(ctx context.Context, zoneID, op, target, body, until string, spaces []occupancy.Space) (string, error) {
	k := s.zones[zoneID]
	now := s.opts.Now()
	keys := append([]string{k.states, k.counters, k.closures(), k.until(), s.eventsKey(zoneID)}, k.freeAll...)
	args := []any{op, target, body, until, strconv.FormatInt(now.UnixMilli(), 10),
		strconv.FormatInt(now.Add(-s.opts.OfflineAfter).UnixMilli(), 10), s.eventCap(zoneID), eventMS(now), s.reg.Version()}
	for _, sp := range spaces {
		args = append(args, sp.ID, strconv.Itoa(slices.Index(occupancy.Kinds, sp.Kind)+1),
			strconv.FormatFloat(sp.Lon, 'f', -1, 64), strconv.FormatFloat(sp.Lat, 'f', -1, 64))
	}
	res, err := closureScript.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("redis store: %s %s: %w", op, target, err)
	}
	if res == "fenced" {
		return "", occupancy.Errorf(occupancy.ECONFLICT, "zone %s is fenced for another registry version than this parkd's: "+
			"a registry reload is under way, retry once it is over", zoneID)
	}
	if res == "ok" {
		s.publishZone(ctx, zoneID) // the zone's new counters for the live feed: events.go
	}
	return res, nil
}

// closures and until are the zone's closure keys (see the top of this file).
func (k *zoneKeys) closures() string { return k.states[:len(k.states)-1] + "closures" }
func (k *zoneKeys) until() string    { return k.states[:len(k.states)-1] + "until" }
