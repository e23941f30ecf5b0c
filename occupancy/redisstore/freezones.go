package redisstore

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// zoneCounts is a freeView's read model of one zone's counters: the counts
// of the statuses the view holds for the zone's spaces (so they are the sum
// of its spaces by construction, as the counters hash is), and the level
// and time of the newest change the view has heard of. The level comes
// from the zone's snapshot (its counters hash, read in the same MULTI as
// its states) and then from the events: a space event of the apply or
// sweep script carries the zone's level after it, and the zone event that
// follows a closure or reopening carries it in its data.
type zoneCounts struct {
	counts    occupancy.Counts
	level     occupancy.Level
	updatedMS int64 // Unix ms of the newest change heard; 0: none
}

// move counts a space of the zone moving from status old to st (letters).
func (z *zoneCounts) move(old, st byte) {
	*z.count(old)--
	*z.count(st)++
}

// count is the count of status st (a letter; anything else is unknown).
func (z *zoneCounts) count(st byte) *int {
	switch st {
	case 'f':
		return &z.counts.Free
	case 'o':
		return &z.counts.Occupied
	case 'c':
		return &z.counts.Closed
	}
	return &z.counts.Unknown
}

// hear takes a change of the zone at ms (Unix ms) and, if level is not
// empty, the zone's level after it; v.mu must be held. The events come in
// the order of the zone's changes, so the last level heard is the zone's;
// the time of change is the newest heard (the entries' times come from
// Redis's clock or the writer's).
func (v *freeView) hear(zi int, level occupancy.Level, ms int64) {
	z := &v.zc[zi]
	z.updatedMS = max(z.updatedMS, ms)
	if level != "" {
		z.level = level
	}
}

// hearEvent takes what a zone's stream entry m says of the zone's level and
// the time of its change; v.mu must be held.
func (v *freeView) hearEvent(zi int, m redis.XMessage) {
	var level occupancy.Level
	switch t, _ := m.Values["t"].(string); occupancy.EventType(t) {
	case occupancy.EventSpace:
		if l, ok := m.Values["l"].(string); ok {
			level = levelNames[l]
		}
	case occupancy.EventZone:
		var d ZoneEventData
		if s, _ := m.Values["d"].(string); json.Unmarshal([]byte(s), &d) == nil {
			level = occupancy.Level(d.Level)
		}
	default:
		return // incidents and other events do not change the counters
	}
	v.hear(zi, level, eventTime(m).UnixMilli())
}

// setCounters sets zone zi's level and time of change from its counters
// hash's level and updated fields, as read in its snapshot; v.mu must be
// held. The counts come from the states.
func (v *freeView) setCounters(zi int, vals []any) {
	z := &v.zc[zi]
	z.level, z.updatedMS = occupancy.LevelUnknown, 0
	if len(vals) != 2 {
		return
	}
	if l, _ := vals[0].(string); l != "" {
		z.level = occupancy.Level(l)
	}
	if u, _ := vals[1].(string); u != "" {
		z.updatedMS, _ = strconv.ParseInt(u, 10, 64)
	}
}

// zoneState returns zone zi's counters as the view holds them.
func (v *freeView) zoneState(zi int) occupancy.ZoneState {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.zoneStateLocked(zi)
}

func (v *freeView) zoneStateLocked(zi int) occupancy.ZoneState {
	z := v.zc[zi]
	st := occupancy.ZoneState{ZoneID: v.zones[zi].id, Counts: z.counts, Level: z.level}
	if z.updatedMS != 0 {
		st.UpdatedAt = time.UnixMilli(z.updatedMS).UTC()
	}
	return st
}

// current returns the view if it is fresh and of the registry as it is now
// (not one a reload has replaced).
func (f *FreeIndex) current() *freeView {
	v := f.fresh()
	if v == nil || !v.reg.SameVersion(f.s.reg) {
		return nil
	}
	return v
}

// Zones answers as Store.Zones does, from the index when it is synced,
// fresh and of the current registry: every zone's counts of its spaces'
// statuses as the index holds them (at most a poll and a round trip behind
// Redis), with the zone's level and the time of its newest change. No
// Redis command, so the dashboards and the summary cost Redis nothing
// however often they ask. Otherwise it reads Redis.
func (f *FreeIndex) Zones(ctx context.Context) ([]occupancy.ZoneState, error) {
	v := f.current()
	if v == nil {
		return f.s.Zones(ctx)
	}
	out := make([]occupancy.ZoneState, len(v.zones))
	v.mu.RLock()
	defer v.mu.RUnlock()
	for zi := range v.zones {
		out[zi] = v.zoneStateLocked(zi)
	}
	return out, nil
}

// Zone answers as Store.Zone does, from the index as Zones does.
// ENOTFOUND if the registry has no such zone.
func (f *FreeIndex) Zone(ctx context.Context, id string) (occupancy.ZoneState, error) {
	v := f.current()
	if v == nil {
		return f.s.Zone(ctx, id)
	}
	zi, ok := v.zoneIdx[id]
	if !ok {
		return occupancy.ZoneState{}, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", id)
	}
	return v.zoneState(zi), nil
}

// Zones is FreeIndex.Zones.
func (s IndexedStore) Zones(ctx context.Context) ([]occupancy.ZoneState, error) {
	return s.Free.Zones(ctx)
}

// Zone is FreeIndex.Zone.
func (s IndexedStore) Zone(ctx context.Context, id string) (occupancy.ZoneState, error) {
	return s.Free.Zone(ctx, id)
}
