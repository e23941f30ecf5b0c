package occupancy

import (
	"slices"
)

// MaxListed is the most space ids each list of a ReloadReport holds; the
// counts are always whole.
const MaxListed = 1000

// ReloadCounts count what a reload changes, in all or in one zone.
type ReloadCounts struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
}

// ReloadReport is the difference between the running registry and a new
// one: what a registry reload changes.
type ReloadReport struct {
	// Version is the new registry's (Registry.Version).
	Version string `json:"version"`
	// Added are the spaces new in the registry, stored as unknown.
	Added []string `json:"added"`
	// Removed are the spaces no longer in the registry: their state,
	// closures and open incidents go with them.
	Removed []string `json:"removed"`
	// Changed are the spaces whose sensor, kind, position or other
	// attributes changed; their live state is kept (a free one is moved in
	// the free-space index). A space that moved to another zone is listed
	// as removed and added instead.
	Changed []string `json:"changed"`
	// Truncated is true when a list was cut at MaxListed ids.
	Truncated bool `json:"truncated"`
	// Unchanged counts the spaces kept as they were.
	Unchanged int `json:"unchanged"`
	// Counts are the lists' whole lengths, and ByZone the same per zone
	// (the zone a space is in, or was in when removed).
	Counts ReloadCounts            `json:"counts"`
	ByZone map[string]ReloadCounts `json:"by_zone"`
	// Spaces and Zones count the new registry.
	Spaces int `json:"spaces"`
	Zones  int `json:"zones"`
}

// DiffRegistries compares the spaces of two registries. It walks them with
// SpaceAt: Spaces would copy each whole registry.
func DiffRegistries(cur, next *Registry) ReloadReport {
	cur, next = cur.Snapshot(), next.Snapshot()
	rep := ReloadReport{Version: next.Version(), Added: []string{}, Removed: []string{}, Changed: []string{},
		ByZone: map[string]ReloadCounts{}, Spaces: next.NumSpaces(), Zones: len(next.Zones())}
	for _, z := range next.Zones() {
		rep.ByZone[z.ID] = ReloadCounts{}
	}
	count := func(zone string, f func(*ReloadCounts)) {
		c := rep.ByZone[zone]
		f(&c)
		rep.ByZone[zone] = c
	}
	for i := range next.NumSpaces() {
		sp := next.SpaceAt(i)
		old, ok := cur.Space(sp.ID)
		switch {
		case !ok:
			rep.Added = rep.list(rep.Added, sp.ID)
			count(sp.ZoneID, func(c *ReloadCounts) { c.Added++ })
		case old.ZoneID != sp.ZoneID:
			rep.Added, rep.Removed = rep.list(rep.Added, sp.ID), rep.list(rep.Removed, sp.ID)
			count(sp.ZoneID, func(c *ReloadCounts) { c.Added++ })
			count(old.ZoneID, func(c *ReloadCounts) { c.Removed++ })
		case old != sp:
			rep.Changed = rep.list(rep.Changed, sp.ID)
			count(sp.ZoneID, func(c *ReloadCounts) { c.Changed++ })
		default:
			rep.Unchanged++
			count(sp.ZoneID, func(c *ReloadCounts) { c.Unchanged++ })
		}
	}
	for i := range cur.NumSpaces() {
		sp := cur.SpaceAt(i)
		if _, ok := next.Space(sp.ID); !ok {
			rep.Removed = rep.list(rep.Removed, sp.ID)
			count(sp.ZoneID, func(c *ReloadCounts) { c.Removed++ })
		}
	}
	for _, c := range rep.ByZone {
		rep.Counts.Added, rep.Counts.Removed, rep.Counts.Changed = rep.Counts.Added+c.Added,
			rep.Counts.Removed+c.Removed, rep.Counts.Changed+c.Changed
	}
	rep.Counts.Unchanged = rep.Unchanged
	slices.Sort(rep.Removed)
	return rep
}

// list appends id to l unless l holds MaxListed ids already.
func (r *ReloadReport) list(l []string, id string) []string {
	if len(l) >= MaxListed {
		r.Truncated = true
		return l
	}
	return append(l, id)
}

// SameZones returns ECONFLICT when next's zone ids differ from cur's:
// adding or removing a zone needs a restart.
func SameZones(cur, next *Registry) error {
	ids := func(r *Registry) []string {
		var out []string
		for _, z := range r.Zones() {
			out = append(out, z.ID)
		}
		slices.Sort(out)
		return out
	}
	if a, b := ids(cur), ids(next); !slices.Equal(a, b) {
		return Errorf(ECONFLICT,
			"the new registry's zones %v differ from the running ones %v: adding or removing a zone needs a restart", b, a)
	}
	return nil
}
