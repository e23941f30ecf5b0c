package occupancy

import (
	"slices"
	"time"
)

// ReloadReport says what a registry reload changed.
type ReloadReport struct {
	// Added are the spaces new in the registry, stored as unknown.
	Added []string `json:"added"`
	// Removed are the spaces no longer in the registry, retired from the
	// state, counters and indexes.
	Removed []string `json:"removed"`
	// Changed are the spaces whose sensor, kind, position or other
	// attributes changed; their live state is kept (a free one is moved in
	// the free-space index). A space that moved to another zone is listed
	// as removed and added instead.
	Changed []string `json:"changed"`
	// Unchanged counts the spaces kept as they were.
	Unchanged int `json:"unchanged"`
	// Spaces and Zones count the new registry.
	Spaces int `json:"spaces"`
	Zones  int `json:"zones"`
	// ReloadedAt is when the reload finished.
	ReloadedAt time.Time `json:"reloaded_at"`
}

// DiffRegistries compares the spaces of two registries. It walks them with
// SpaceAt: Spaces would copy each whole registry.
func DiffRegistries(cur, next *Registry) ReloadReport {
	cur, next = cur.Snapshot(), next.Snapshot()
	rep := ReloadReport{Added: []string{}, Removed: []string{}, Changed: []string{},
		Spaces: next.NumSpaces(), Zones: len(next.Zones())}
	for i := range next.NumSpaces() {
		sp := next.SpaceAt(i)
		old, ok := cur.Space(sp.ID)
		switch {
		case !ok:
			rep.Added = append(rep.Added, sp.ID)
		case old.ZoneID != sp.ZoneID:
			rep.Added, rep.Removed = append(rep.Added, sp.ID), append(rep.Removed, sp.ID)
		case old != sp:
			rep.Changed = append(rep.Changed, sp.ID)
		default:
			rep.Unchanged++
		}
	}
	for i := range cur.NumSpaces() {
		id := cur.SpaceAt(i).ID
		if _, ok := next.Space(id); !ok {
			rep.Removed = append(rep.Removed, id)
		}
	}
	slices.Sort(rep.Removed)
	return rep
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
