package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// changeWindow is how far back a sensor's changes are counted. The events
// of the zone's stream (events.go) are the record: each status change the
// apply script makes appends a space event with the new status (f or o), and
// the streams keep at least this window.
const changeWindow = time.Hour

// clockSkew is how far the clocks of Redis (which stamps the stream ids) and
// of this process may differ: the read of a zone's last hour starts this much
// earlier and the events' own times decide.
const clockSkew = time.Minute

// SensorHealth returns the sensors of a zone, or of every zone when zoneID
// is "", in space ID order: each space's state and how many times its
// status changed (free/occupied) in the last hour. ENOTFOUND for an unknown
// zone. One pipelined round trip.
func (s *Store) SensorHealth(ctx context.Context, zoneID string) ([]occupancy.SensorHealth, error) {
	var spaces []occupancy.Space
	if zoneID == "" {
		spaces = s.reg.Spaces() // a new slice of every space: only when asked for all
	} else {
		if _, ok := s.zones[zoneID]; !ok {
			return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
		}
		spaces = s.reg.SpacesInZone(zoneID)
	}
	states, err := s.States(ctx, spaces)
	if err != nil {
		return nil, err
	}
	changes, err := s.changesLastHour(ctx, spaces)
	if err != nil {
		return nil, err
	}
	return sensorHealth(spaces, states, changes), nil
}

// sensorHealth pairs each space's state with its changes in the last hour.
func sensorHealth(spaces []occupancy.Space, states []occupancy.SpaceState, changes map[string]int) []occupancy.SensorHealth {
	out := make([]occupancy.SensorHealth, len(spaces))
	for i, st := range states {
		out[i] = occupancy.SensorHealth{State: st, ChangesLastHour: changes[spaces[i].ID]}
	}
	return out
}

// changesLastHour counts the occupancy changes (to free or occupied, made by
// the apply script) of the zones of spaces within changeWindow, by space id,
// from the zones' event streams. Sweeps (to unknown) and closures are not
// occupancy changes. One XRANGE per zone, pipelined.
func (s *Store) changesLastHour(ctx context.Context, spaces []occupancy.Space) (map[string]int, error) {
	since, from := s.opts.Now().Add(-changeWindow), s.windowStart()
	zones := map[string]*redis.XMessageSliceCmd{}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, sp := range spaces {
			if _, ok := zones[sp.ZoneID]; !ok {
				zones[sp.ZoneID] = p.XRange(ctx, s.eventsKey(sp.ZoneID), from, "+")
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis store: read state changes: %w", err)
	}
	n := map[string]int{}
	for _, cmd := range zones {
		for _, m := range cmd.Val() {
			occupancyChanges(m, since, func(id string) { n[id]++ })
		}
	}
	return n, nil
}

// windowStart is the stream id to read a zone's last changeWindow from.
// Stream ids carry Redis's time; with an injected clock behind or ahead of
// it, the read starts early enough to see the window, and the readers
// filter by the events' own times.
func (s *Store) windowStart() string {
	return strconv.FormatInt(min(s.opts.Now().UnixMilli(), time.Now().UnixMilli())-(changeWindow+clockSkew).Milliseconds(), 10)
}

// occupancyChanges calls add with the space of each occupancy change a
// stream entry records at or after since: a space change to the apply
// script's f or o (the closure script writes words, the sweeper u).
func occupancyChanges(m redis.XMessage, since time.Time, add func(id string)) {
	if t, _ := m.Values["t"].(string); t != string(occupancy.EventSpace) || eventTime(m).Before(since) {
		return
	}
	for id, st := range spaceChanges(m) {
		if st == "f" || st == "o" {
			add(id)
		}
	}
}

// SensorChanges returns zoneID's occupancy changes by sensor (to free or
// occupied, made by the apply script) at or after since, in stream order,
// and the position of the last entry read: those after the position after,
// or, when after is "", those of the stream's last changeWindow. trimmed
// says the stream was trimmed past after (the entries between are lost):
// read again with after "". One round trip. ENOTFOUND for an unknown zone.
func (s *Store) SensorChanges(ctx context.Context, zoneID, after string, since time.Time) (changes []occupancy.SensorChange, last string, trimmed bool, err error) {
	if _, ok := s.zones[zoneID]; !ok {
		return nil, "", false, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
	}
	key := s.eventsKey(zoneID)
	var msgs []redis.XMessage
	if after == "" {
		msgs, err = s.rdb.XRange(ctx, key, s.windowStart(), "+").Result()
	} else {
		var first, next *redis.XMessageSliceCmd
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			first = p.XRangeN(ctx, key, "-", "+", 1)
			next = p.XRange(ctx, key, after, "+") // from after, inclusive

			return nil
		})
		if f := first.Val(); after != occupancy.StartPosition && len(f) > 0 && occupancy.ComparePositions(f[0].ID, after) > 0 {
			return nil, "", true, nil
		}
		if msgs = next.Val(); len(msgs) > 0 && msgs[0].ID == after {
			msgs = msgs[1:]
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", false, fmt.Errorf("redis store: read state changes of zone %s: %w", zoneID, err)
	}
	last = cmp.Or(after, occupancy.StartPosition)
	for _, m := range msgs {
		last = m.ID
		occupancyChanges(m, since, func(id string) {
			changes = append(changes, occupancy.SensorChange{SpaceID: id, Time: eventTime(m), Pos: m.ID})
		})
	}
	return changes, last, false, nil
}
