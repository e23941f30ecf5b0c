package redisstore

import (
	"context"
	"fmt"

	"github.com/qiuai/parking/occupancy"
)

// NoteClocks notes readings rejected for their sensor time (an
// *occupancy.ClockError, found by the ingest): each shows its sensor alive,
// so its space's last_seen moves to now (never back) and the sweeper does
// not mark it unknown; and the space's sensor shows the clock_skew problem
// (Health.Clock) until one of its readings applies. The status, the
// counters and the feed do not change. known[i] is false for a reading of
// a sensor not in the registry (or whose space has no state yet). The
// error is EINTERNAL (Redis): running the call again is harmless. One
// script call per zone (lua/clock.lua); such readings are rare, so they
// are not pipelined.
func (s *Store) NoteClocks(ctx context.Context, rs []occupancy.Reading) (known []bool, err error) {
	known = make([]bool, len(rs))
	s.regMu.RLock() // like ApplyBatch: a registry reload waits
	defer s.regMu.RUnlock()
	type zoneCall struct {
		keys []string
		args []any
		at   []int
	}
	var calls []*zoneCall
	byZone := map[string]*zoneCall{}
	now := s.opts.Now().UnixMilli()
	for i, r := range rs {
		sp, ok := s.reg.SpaceBySensor(r.SensorID)
		if !ok {
			continue
		}
		c := byZone[sp.ZoneID]
		if c == nil {
			c = &zoneCall{keys: []string{s.zones[sp.ZoneID].states}, args: []any{now}}
			byZone[sp.ZoneID] = c
			calls = append(calls, c)
		}
		c.at = append(c.at, i)
		c.args = append(c.args, sp.ID, r.TS.UnixMilli())
	}
	for _, c := range calls {
		res, err := clockScript.Run(ctx, s.rdb, c.keys, c.args...).Text()
		if err == nil && len(res) != len(c.at) {
			err = fmt.Errorf("%d answers to %d readings", len(res), len(c.at))
		}
		if err != nil {
			return known, fmt.Errorf("redis store: note rejected clocks: %w", err)
		}
		for j, i := range c.at {
			known[i] = res[j] == 'k'
		}
	}
	return known, nil
}
