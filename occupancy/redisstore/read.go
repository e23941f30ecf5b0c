package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

var statusOf = map[byte]occupancy.Status{
	'f': occupancy.StatusFree, 'o': occupancy.StatusOccupied,
	'u': occupancy.StatusUnknown, 'c': occupancy.StatusClosed,
}

// decodeState unpacks a state written by the scripts. A missing value (the
// space is in the registry but not yet stored) reads as unknown.
func decodeState(id, v string) occupancy.SpaceState {
	st := occupancy.SpaceState{SpaceID: id, Status: occupancy.StatusUnknown}
	var f [stateFields]string
	n := splitFields(v, f[:])
	if n < 7 || f[0] == "" {
		return st
	}
	if s, ok := statusOf[f[0][0]]; ok {
		st.Status = s
	}
	st.Since = msTime(f[2])
	st.LastSeen = msTime(f[3])
	if us, ok := optInt(f[4]); ok {
		st.SensorTS = time.UnixMicro(us).UTC()
	}
	if seq, ok := optInt(f[5]); ok && seq >= 0 {
		st.Seq = uint64(seq)
	}
	if mv, ok := optInt(f[6]); ok {
		st.BatteryMV = int(mv)
	}
	if n >= healthFields { // states written before the health fields have 7
		st.Health = decodeHealth(f[7:healthFields])
	}
	if n >= stateFields && f[12] != "" {
		st.Health.Clock = &occupancy.SensorClock{ReceivedAt: msTime(f[12]), TS: msTime(f[13])}
	}
	return st
}

// The number of fields of a packed state (lua/common.lua): with the
// sensor's health, and with a rejected clock too.
const (
	healthFields = 12
	stateFields  = 14
)

// splitFields splits v at each "|" into f and returns how many fields v
// has, as len(strings.Split(v, "|")) would, without allocating; the fields
// past len(f) are not kept.
func splitFields(v string, f []string) int {
	for n := 0; ; n++ {
		field, rest, more := strings.Cut(v, "|")
		if n < len(f) {
			f[n] = field
		}
		if !more {
			return n + 1
		}
		v = rest
	}
}

// decodeHealth unpacks temp_c|firmware|reset_cause|rssi|snr.
func decodeHealth(f []string) occupancy.Health {
	h := occupancy.Health{Firmware: f[1], ResetCause: f[2]}
	h.TempC = optFloat(f[0])
	if v, ok := optInt(f[3]); ok {
		rssi := int(v)
		h.RSSI = &rssi
	}
	h.SNR = optFloat(f[4])
	return h
}

// optFloat parses s, or returns nil if it is empty or not a number.
func optFloat(s string) *float64 {
	if s == "" { // most states have no temperature or radio: no error to make
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	return &v
}

// optInt parses s as a decimal integer; false if it is empty or not one.
func optInt(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

func msTime(s string) time.Time {
	ms, ok := optInt(s)
	if !ok {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Space returns one space's state. ENOTFOUND if the registry has no such space.
func (s *Store) Space(ctx context.Context, id string) (occupancy.SpaceState, error) {
	sp, ok := s.reg.Space(id)
	if !ok {
		return occupancy.SpaceState{}, occupancy.Errorf(occupancy.ENOTFOUND, "space %s not found", id)
	}
	v, err := s.rdb.HGet(ctx, s.zones[sp.ZoneID].states, id).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return occupancy.SpaceState{}, fmt.Errorf("redis store: get space %s: %w", id, err)
	}
	return decodeState(id, v), nil
}

// States returns the states of the given spaces, in the same order, in one
// pipelined round trip. Every space must be in the registry.
func (s *Store) States(ctx context.Context, spaces []occupancy.Space) ([]occupancy.SpaceState, error) {
	byZone := map[string][]int{}
	for i, sp := range spaces {
		byZone[sp.ZoneID] = append(byZone[sp.ZoneID], i)
	}
	cmds := make(map[string]*redis.SliceCmd, len(byZone))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for zone, idx := range byZone {
			ids := make([]string, len(idx))
			for j, i := range idx {
				ids[j] = spaces[i].ID
			}
			cmds[zone] = p.HMGet(ctx, s.zones[zone].states, ids...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: get spaces: %w", err)
	}
	out := make([]occupancy.SpaceState, len(spaces))
	for zone, idx := range byZone {
		vals := cmds[zone].Val()
		for j, i := range idx {
			v, _ := vals[j].(string)
			out[i] = decodeState(spaces[i].ID, v)
		}
	}
	return out, nil
}

// ListSpaces returns the registry's spaces that match f, in ID order, with
// their state, and the cursor of the next page ("" on the last page):
// occupancy.ListSpaces over States. EINVALID for a bad filter, ENOTFOUND
// for an unknown zone.
func (s *Store) ListSpaces(ctx context.Context, f occupancy.SpaceFilter) ([]occupancy.SpaceState, string, error) {
	return occupancy.ListSpaces(ctx, s.reg, s.States, f)
}

// Zone returns one zone's counters. ENOTFOUND if the registry has no such zone.
func (s *Store) Zone(ctx context.Context, id string) (occupancy.ZoneState, error) {
	k, ok := s.zones[id]
	if !ok {
		return occupancy.ZoneState{}, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", id)
	}
	m, err := s.rdb.HGetAll(ctx, k.counters).Result()
	if err != nil {
		return occupancy.ZoneState{}, fmt.Errorf("redis store: get zone %s: %w", id, err)
	}
	return decodeCounters(id, m), nil
}

// Zones returns every zone's counters, in registry order, in one pipelined
// round trip. Calls at the same time share one read: a call made while
// another's read is on its way gets that read's answer, at most one round
// trip older than the call (each zone carries the time it changed), so a
// crowd of dashboards and phones asking at once costs Redis one read.
func (s *Store) Zones(ctx context.Context) ([]occupancy.ZoneState, error) {
	ch := s.zonesRead.DoChan("zones", func() (any, error) {
		return s.readZones(context.WithoutCancel(ctx)) // the client's read timeout bounds it
	})
	select {
	case <-ctx.Done(): // the caller's deadline passed: an outage (coded)
		return nil, coded(fmt.Errorf("redis store: get zones: %w", ctx.Err()))
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return slices.Clone(r.Val.([]occupancy.ZoneState)), nil
	}
}

// readZones is Zones' read.
func (s *Store) readZones(ctx context.Context) ([]occupancy.ZoneState, error) {
	zones := s.reg.Zones()
	cmds := make([]*redis.MapStringStringCmd, len(zones))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range zones {
			cmds[i] = p.HGetAll(ctx, s.zones[z.ID].counters)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: get zones: %w", err)
	}
	out := make([]occupancy.ZoneState, len(zones))
	for i, z := range zones {
		out[i] = decodeCounters(z.ID, cmds[i].Val())
	}
	return out, nil
}

func decodeCounters(id string, m map[string]string) occupancy.ZoneState {
	n := func(k string) int { v, _ := strconv.Atoi(m[k]); return v }
	level := occupancy.Level(m["level"])
	if level == "" {
		level = occupancy.LevelUnknown
	}
	return occupancy.ZoneState{ZoneID: id, UpdatedAt: msTime(m["updated"]), Level: level, Counts: occupancy.Counts{
		Total: n("total"), Free: n("free"), Occupied: n("occupied"), Unknown: n("unknown"), Closed: n("closed"),
	}}
}
