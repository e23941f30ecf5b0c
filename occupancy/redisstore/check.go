package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/qiuai/parking/occupancy"
)

// Check recomputes every zone's counters and free geo sets from the zone's
// space states and reports where they differ. With repair it also corrects
// them, and stores missing registry spaces as unknown.
// Each zone is checked (and repaired) by one atomic script, so Check is safe
// while readings are being applied; zones are checked one after the other.
// The error is EINTERNAL (Redis).
func (s *Store) Check(ctx context.Context, repair bool) (occupancy.CheckReport, error) {
	rep := occupancy.CheckReport{Drift: []occupancy.Drift{}, Repaired: repair}
	for _, z := range s.reg.Zones() {
		items, err := s.checkZone(ctx, z.ID, repair)
		if err != nil {
			return rep, err
		}
		rep.Zones++
		rep.Spaces += len(s.reg.SpacesInZone(z.ID))
		rep.Drift = append(rep.Drift, items...)
	}
	if n := len(rep.Drift); n > 0 {
		s.opts.Logger.Warn("consistency check found drift", "items", n, "repair", repair, "unfixed", rep.Unfixed())
	}
	return rep, nil
}

// checkZone runs checkScript on one zone and decodes its answer.
func (s *Store) checkZone(ctx context.Context, zoneID string, repair bool) ([]occupancy.Drift, error) {
	k := s.zones[zoneID]
	keys := append(append([]string{k.states, k.counters}, k.freeAll...), k.closures())
	flag := "0"
	if repair {
		flag = "1"
	}
	args := []any{flag, strconv.FormatInt(s.opts.Now().UnixMilli(), 10)}
	for _, sp := range s.reg.SpacesInZone(zoneID) {
		args = append(args, sp.ID, strconv.Itoa(slices.Index(occupancy.Kinds, sp.Kind)+1),
			strconv.FormatFloat(sp.Lon, 'f', -1, 64), strconv.FormatFloat(sp.Lat, 'f', -1, 64))
	}
	res, err := checkScript.Run(ctx, s.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis store: check zone %s: %w", zoneID, err)
	}
	items := make([]occupancy.Drift, 0, len(res)/5)
	for i := 0; i+4 < len(res); i += 5 {
		items = append(items, occupancy.Drift{Zone: zoneID, Kind: res[i], What: res[i+1],
			Expected: res[i+2], Found: res[i+3], Fixed: res[i+4] == "1"})
	}
	slices.SortFunc(items, func(a, b occupancy.Drift) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.What+a.Expected, b.What+b.Expected)
	})
	return items, nil
}
