package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Apply applies one reading: newer than the stored one applies, an equal one
// is a duplicate, an older one is stale. A sensor not in the registry gives
// ResultUnknownSensor and changes nothing. The error is EINTERNAL (Redis).
// Running it again with the same reading is harmless, so a retry after a lost
// reply is safe.
func (s *Store) Apply(ctx context.Context, r occupancy.Reading) (occupancy.Result, error) {
	defer lockRegistry()() // a registry reload waits for this apply (reload.go)
	sp, ok := s.reg.SpaceBySensor(r.SensorID)
	if !ok {
		return occupancy.ResultUnknownSensor, nil
	}
	keys, args := s.applyCall(sp, r)
	res, err := applyScript.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return "", fmt.Errorf("redis store: apply reading of sensor %s: %w", r.SensorID, err)
	}
	return occupancy.Result(res), nil
}

// ApplyBatch applies readings in one pipelined round trip. results[i] and
// errs[i] belong to rs[i]; a reading with a non-nil errs[i] was not applied
// and must be retried. Scripts missing after a Redis restart are reloaded.
func (s *Store) ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	results, errs := make([]occupancy.Result, len(rs)), make([]error, len(rs))
	cmds := make([]*redis.Cmd, len(rs))
	unlock := lockRegistry() // a registry reload waits for the batch (reload.go)
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range rs {
			sp, ok := s.reg.SpaceBySensor(r.SensorID)
			if !ok {
				results[i] = occupancy.ResultUnknownSensor
				continue
			}
			keys, args := s.applyCall(sp, r)
			cmds[i] = applyScript.EvalSha(ctx, p, keys, args...)
		}
		return nil
	})
	unlock() // before the fallback: Apply locks on its own
	reloaded := false
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		res, err := cmd.Text()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if !reloaded {
				reloaded = s.loadScripts(ctx) == nil
			}
			results[i], errs[i] = s.Apply(ctx, rs[i])
			continue
		}
		if err != nil {
			errs[i] = fmt.Errorf("redis store: apply reading of sensor %s: %w", rs[i].SensorID, err)
			continue
		}
		results[i] = occupancy.Result(res)
	}
	return results, errs
}

// applyCall builds the keys and arguments of applyScript. Numbers are
// passed as numbers: go-redis writes them with strconv.AppendInt and
// AppendFloat(f, 'f', -1, 64), the same text as formatting them here, without
// a string per argument (this is the ingest's hot path).
func (s *Store) applyCall(sp occupancy.Space, r occupancy.Reading) ([]string, []any) {
	k := s.zones[sp.ZoneID]
	occ := "0"
	if r.Occupied {
		occ = "1"
	}
	var bat any = ""
	if r.BatteryMV > 0 {
		bat = r.BatteryMV
	}
	keys := []string{k.states, k.counters, k.seen, k.free[sp.Kind], s.eventsKey(sp.ZoneID)}
	args := make([]any, 0, 16)
	now := s.opts.Now()
	args = append(args, sp.ID, occ, r.TS.UnixMicro(), r.Seq, r.TS.UnixMilli(), now.UnixMilli(), bat, sp.Lon, sp.Lat)
	return keys, append(appendHealthArgs(args, r), s.eventCap(sp.ZoneID), eventMS(now))
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
