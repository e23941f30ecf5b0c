package redisstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Apply applies one reading: newer than the stored one applies, an equal one
// is a duplicate, an older one is stale. A sensor not in the registry gives
// ResultUnknownSensor and changes nothing. The error is EINTERNAL (Redis).
// Running it again with the same reading is harmless, so a retry after a lost
// reply is safe.
func (s *Store) Apply(ctx context.Context, r occupancy.Reading) (occupancy.Result, error) {
	results, errs := s.ApplyBatch(ctx, []occupancy.Reading{r})
	return results[0], errs[0]
}

// maxZoneCall is the most readings of one zone applyScript gets in one call:
// a longer run of a zone's readings is split, so that no call holds Redis
// for long (the script runs alone) or unpacks more than Lua's stack takes.
const maxZoneCall = 256

// ApplyBatch applies readings in one pipelined round trip: one applyScript
// call per zone, with that zone's readings in their order (so the readings
// of one sensor apply in order, and each sees the ones before it).
// results[i] and errs[i] belong to rs[i]; a reading with a non-nil errs[i]
// was not applied (its zone's call failed as a whole) and must be retried.
// Scripts missing after a Redis restart are reloaded.
func (s *Store) ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	results, errs := make([]occupancy.Result, len(rs)), make([]error, len(rs))
	s.regMu.RLock() // a registry reload waits for the batch (reload.go)
	defer s.regMu.RUnlock()
	calls := s.zoneCalls(rs, results)
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			c.cmd = applyScript.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	reloaded := false
	version := s.reg.Version()
	for _, c := range calls {
		res, err := c.cmd.Text()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if !reloaded {
				reloaded = s.loadScripts(ctx) == nil
			}
			res, err = applyScript.Run(ctx, s.rdb, c.keys, c.args...).Text()
		}
		if err == nil && len(res) != len(c.at) {
			err = fmt.Errorf("%d answers to %d readings", len(res), len(c.at))
		}
		for j, i := range c.at {
			if err != nil {
				errs[i] = fmt.Errorf("redis store: apply reading of sensor %s: %w", rs[i].SensorID, err)
				continue
			}
			if res[j] == 'v' {
				errs[i] = occupancy.Errorf(occupancy.ECONFLICT, "redis store: apply reading of sensor %s: "+
					"zone %s is fenced for another registry version than this parkd's %s: it must reload", rs[i].SensorID, c.zone, version)
				continue
			}
			results[i] = resultCodes[res[j]]
			if results[i] == "" {
				errs[i] = fmt.Errorf("redis store: apply reading of sensor %s: result %q", rs[i].SensorID, res[j])
			}
		}
	}
	return results, errs
}

// applyFields is the number of ARGV of lua/apply.lua per reading (its R).
const applyFields = 14

// resultCodes are applyScript's letters for its results.
var resultCodes = map[byte]occupancy.Result{'a': occupancy.ResultApplied, 'd': occupancy.ResultDuplicate, 's': occupancy.ResultStale}

// zoneCall is one applyScript call: readings rs[at[0]], rs[at[1]], ... of
// one zone.
type zoneCall struct {
	zone string
	at   []int
	keys []string
	args []any
	cmd  *redis.Cmd
}

// zoneCalls groups the readings of rs by zone, in their order, into
// applyScript calls of at most maxZoneCall readings. A reading of a sensor
// not in the registry gets ResultUnknownSensor in results and no call.
//
// Numbers are passed as numbers: go-redis writes them with strconv.AppendInt
// and AppendFloat(f, 'f', -1, 64), the same text as formatting them here,
// without a string per argument (this is the ingest's hot path).
func (s *Store) zoneCalls(rs []occupancy.Reading, results []occupancy.Result) []*zoneCall {
	var calls []*zoneCall
	now := s.opts.Now()
	nowMS, evMS, version := now.UnixMilli(), eventMS(now), s.reg.Version()
	for i, r := range rs {
		sp, ok := s.reg.SpaceBySensor(r.SensorID)
		if !ok {
			results[i] = occupancy.ResultUnknownSensor
			continue
		}
		// The zone's call still taking readings: the last of its calls (a
		// batch holds few zones).
		var c *zoneCall
		for j := len(calls) - 1; j >= 0 && c == nil; j-- {
			if calls[j].zone == sp.ZoneID {
				c = calls[j]
			}
		}
		if c == nil || len(c.at) == maxZoneCall {
			k := s.zones[sp.ZoneID]
			c = &zoneCall{zone: sp.ZoneID, keys: append([]string{k.states, k.counters, s.eventsKey(sp.ZoneID)}, k.freeAll...)}
			c.args = append(make([]any, 0, 4+applyFields*min(len(rs)-i, maxZoneCall)), nowMS, s.eventCap(sp.ZoneID), evMS, version)
			calls = append(calls, c)
		}
		c.at = append(c.at, i)
		c.args = appendReading(c.args, sp, r)
	}
	return calls
}

// appendReading appends the applyFields arguments of applyScript for
// reading r of space sp.
func appendReading(args []any, sp occupancy.Space, r occupancy.Reading) []any {
	occ := "0"
	if r.Occupied {
		occ = "1"
	}
	var bat any = ""
	if r.BatteryMV > 0 {
		bat = r.BatteryMV
	}
	free := 4 + slices.Index(occupancy.Kinds, sp.Kind) // its free set in KEYS (1-based)
	args = append(args, sp.ID, occ, r.TS.UnixMicro(), r.Seq, r.TS.UnixMilli(), bat, sp.Lon, sp.Lat, free)
	return appendHealthArgs(args, r)
}

// appendHealthArgs appends the health arguments of applyScript: temp_c,
// firmware, reset_cause, rssi, snr ("" for what the reading does not
// report). The reading has passed Validate, so the strings hold no '|'.
func appendHealthArgs(args []any, r occupancy.Reading) []any {
	opt := func(v *float64) any {
		if v == nil {
			return ""
		}
		return *v
	}
	var rssi any = ""
	if r.RSSI != nil {
		rssi = *r.RSSI
	}
	return append(args, opt(r.TempC), r.Firmware, r.ResetCause, rssi, opt(r.SNR))
}
