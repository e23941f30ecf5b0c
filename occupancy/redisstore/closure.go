package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Closures live beside a zone's states, in the zone's hash tag:
//
//	pk:{Z}:closures  hash: space id, or "*" for the whole zone -> Closure (JSON)
//	pk:{Z}:until     zset: the same targets -> when they reopen by themselves (ms)
//
// A space is closed (status c) while it has its own closure or its zone has
// one. Closing and opening move the space's status, the zone counters and
// the free geo set in one script, like a reading does. While closed, the
// apply script keeps status c but records the sensor's word and last-seen
// time, so reopening restores free or occupied at once (unknown if the
// sensor has been silent longer than OfflineAfter).

// zoneTarget is the closures field of a whole-zone closure.
const zoneTarget = "*"

// The closure script's operations.
const (
	opClose  = "close"
	opOpen   = "open"
	opExpire = "expire" // open only if the target's until has passed
)

// closureScript closes or opens a space or a whole zone.
//
// KEYS: 1 states hash, 2 counters hash, 3 closures hash, 4 until zset, 5
// the zone's event stream, 6.. the zone's free geo sets in occupancy.Kinds
// order.
// ARGV: 1 op (close|open|expire), 2 target (space id or *), 3 closure JSON
// (close), 4 until_ms (” for none), 5 now_ms, 6 cutoff_ms (a sensor last
// seen before it is silent), 7 the event stream's cap (eventCap), 8 the
// events' ms (eventMS), then per space to close or open: id, kind (1-based
// index into the free sets), lon, lat. Returns ok, zone_closed (open of a
// space whose zone is closed: nothing done) or not_due (expire of a closure
// that has no until in the past: nothing done).
//
// Each space whose status it changes gets its space event in the same
// step, as the apply and sweep scripts do, so every reader of the stream
// (the SSE feed, each instance's free index) sees a closure or reopening
// exactly when it happens. The status is written as a word (closed, free…),
// not the apply script's letter, so a sensor's flip count (health.go) leaves
// closures out.
var closureScript = redis.NewScript(luaCommon + `
local op, target, now = ARGV[1], ARGV[2], ARGV[5]
local function changed(id, st)
  local ev = {'t', 'space', 's', id, 'st', names[st]}
  if ARGV[8] ~= '' then ev[7], ev[8] = 'ms', ARGV[8] end
  addEvent(KEYS[5], ARGV[7], unpack(ev))
end
local function load(id)
  local cur = redis.call('HGET', KEYS[1], id)
  if cur then return parse(cur) end
  redis.call('HINCRBY', KEYS[2], 'total', 1)
  redis.call('HINCRBY', KEYS[2], 'unknown', 1)
  return {'u', '', '', '', '', '0', '', '', '', '', '', ''}
end
local function closeOne(id)
  local t = load(id)
  if t[1] == 'c' then return end
  move(KEYS[2], t[1], 'c', now)
  if t[1] == 'f' then
    for i = 6, #KEYS do redis.call('ZREM', KEYS[i], id) end
  end
  t[1], t[3] = 'c', now
  redis.call('HSET', KEYS[1], id, table.concat(t, '|', 1, 12))
  changed(id, 'c')
end
local function openOne(id, kind, lon, lat)
  local t = load(id)
  if t[1] ~= 'c' then return end
  local nst = 'u'
  local seen = tonumber(t[4])
  if seen and seen >= tonumber(ARGV[6]) then
    if t[2] == '1' then nst = 'o' elseif t[2] == '0' then nst = 'f' end
  end
  move(KEYS[2], 'c', nst, now)
  if nst == 'f' then redis.call('GEOADD', KEYS[5 + kind], lon, lat, id) end
  t[1], t[3] = nst, now
  redis.call('HSET', KEYS[1], id, table.concat(t, '|', 1, 12))
  changed(id, nst)
end
if op == 'expire' then
  local due = tonumber(redis.call('ZSCORE', KEYS[4], target))
  if not due or due > tonumber(now) then return 'not_due' end
  op = 'open'
end
if op == 'close' then
  redis.call('HSET', KEYS[3], target, ARGV[3])
  if ARGV[4] == '' then redis.call('ZREM', KEYS[4], target) else redis.call('ZADD', KEYS[4], ARGV[4], target) end
  for i = 9, #ARGV, 4 do closeOne(ARGV[i]) end
  return 'ok'
end
if target ~= '*' and redis.call('HEXISTS', KEYS[3], '*') == 1 then return 'zone_closed' end
redis.call('HDEL', KEYS[3], target)
redis.call('ZREM', KEYS[4], target)
for i = 9, #ARGV, 4 do
  local id = ARGV[i]
  if target ~= '*' or redis.call('HEXISTS', KEYS[3], id) == 0 then
    openOne(id, tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3])
  end
end
return 'ok'
`)

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

// ReopenInterval is how often parkd runs ReopenDue: a closure ends at most
// this long after its until.
const ReopenInterval = 5 * time.Second

// RunReopener calls ReopenDue every interval until ctx is done.
func (s *Store) RunReopener(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		if n, err := s.ReopenDue(ctx); err != nil {
			s.opts.Logger.Warn("reopening due closures failed", "err", err)
		} else if n > 0 {
			s.opts.Logger.Info("closures ended at their until", "count", n)
		}
	})
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
		strconv.FormatInt(now.Add(-s.opts.OfflineAfter).UnixMilli(), 10), s.eventCap(zoneID), eventMS(now)}
	for _, sp := range spaces {
		args = append(args, sp.ID, strconv.Itoa(slices.Index(occupancy.Kinds, sp.Kind)+1),
			strconv.FormatFloat(sp.Lon, 'f', -1, 64), strconv.FormatFloat(sp.Lat, 'f', -1, 64))
	}
	res, err := closureScript.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("redis store: %s %s: %w", op, target, err)
	}
	if res == "ok" {
		s.publishZone(ctx, zoneID) // the zone's new counters for the live feed: events.go
	}
	return res, nil
}

// closures and until are the zone's closure keys (see the top of this file).
func (k *zoneKeys) closures() string { return k.states[:len(k.states)-1] + "closures" }
func (k *zoneKeys) until() string    { return k.states[:len(k.states)-1] + "until" }
