package redisstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/qiuai/parking/occupancy"
)

// Check recomputes every zone's counters and free geo sets from the zone's
// space states and reports where they differ, and every entry of a space
// the registry does not place in the zone (orphans: states, free-set
// entries, closures, open incidents and their conditions). With repair it
// also corrects them: it deletes the orphans (resolving their incidents as
// a reload does), corrects counters and sets, and stores missing registry
// spaces as unknown. Each zone is checked and repaired by short atomic
// scripts, so Check is safe while readings are being applied; zones are
// checked one after the other. A repair is ECONFLICT when the store's
// registry is not the one a reload put in force; other errors are
// EINTERNAL (Redis).
func (s *Store) Check(ctx context.Context, repair bool) (occupancy.CheckReport, error) {
	rep := occupancy.CheckReport{Drift: []occupancy.Drift{}, Repaired: repair}
	for _, z := range s.reg.Zones() {
		items, err := s.checkZone(ctx, z.ID, repair)
		if err != nil {
			return rep, err
		}
		rep.Zones++
		rep.Spaces += s.reg.NumSpacesInZone(z.ID)
		rep.Drift = append(rep.Drift, items...)
	}
	if n := len(rep.Drift); n > 0 {
		s.opts.Logger.Warn("consistency check found drift", "items", n, "repair", repair, "unfixed", rep.Unfixed())
	}
	return rep, nil
}

// checkZone checks (and repairs) one zone: its orphans first, then
// checkScript over its registry spaces.
func (s *Store) checkZone(ctx context.Context, zoneID string, repair bool) ([]occupancy.Drift, error) {
	items, err := s.checkOrphans(ctx, zoneID, repair)
	if err != nil {
		return nil, err
	}
	k := s.zones[zoneID]
	keys := append(append([]string{k.states, k.counters}, k.freeAll...), k.closures())
	flag := "0"
	if repair {
		flag = "1"
	}
	args := []any{flag, strconv.FormatInt(s.opts.Now().UnixMilli(), 10), s.reg.Version()}
	for _, sp := range s.reg.SpacesInZone(zoneID) {
		args = append(args, sp.ID, strconv.Itoa(slices.Index(occupancy.Kinds, sp.Kind)+1),
			strconv.FormatFloat(sp.Lon, 'f', -1, 64), strconv.FormatFloat(sp.Lat, 'f', -1, 64))
	}
	res, err := checkScript.Run(ctx, s.rdb, keys, args...).StringSlice()
	if fenced(err) {
		return nil, fencedError("repair zone "+zoneID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("redis store: check zone %s: %w", zoneID, err)
	}
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

// checkOrphans reports (and with repair deletes or resolves) zone zoneID's
// orphans: states, free-set entries and closures of spaces the registry
// does not place there, and their open incidents and conditions.
func (s *Store) checkOrphans(ctx context.Context, zoneID string, repair bool) ([]occupancy.Drift, error) {
	o, err := s.FindOrphans(ctx, zoneID)
	if err != nil {
		return nil, err
	}
	inc, err := s.FindOrphanIncidents(ctx, zoneID)
	if err != nil {
		return nil, err
	}
	var items []occupancy.Drift
	add := func(kind, what, expected, found string) {
		items = append(items, occupancy.Drift{Zone: zoneID, Kind: kind, What: what, Expected: expected, Found: found, Fixed: repair})
	}
	for _, id := range slices.Sorted(maps.Keys(o.States)) {
		add(occupancy.DriftUnregistered, id, "", o.States[id])
	}
	for _, set := range slices.Sorted(maps.Keys(o.Free)) {
		for _, id := range o.Free[set] {
			add(occupancy.DriftFreeSet, id, "", set)
		}
	}
	for _, id := range o.Closures {
		add(occupancy.DriftUnregisteredClosure, id, "", "closure")
	}
	for _, i := range inc.Open {
		add(occupancy.DriftUnregisteredIncident, i.ID, string(occupancy.IncidentResolved), string(i.Status))
	}
	for _, c := range inc.Conditions {
		add(occupancy.DriftUnregisteredIncident, c, "", "active condition")
	}
	if !repair || len(items) == 0 {
		return items, nil
	}
	if _, err := s.RetireSpaces(ctx, zoneID, o.IDs()); err != nil {
		return nil, err
	}
	if _, err := s.EndOrphanIncidents(ctx, zoneID, inc); err != nil {
		return nil, err
	}
	return items, nil
}
