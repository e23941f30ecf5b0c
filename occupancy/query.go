package occupancy

import (
	"context"
	"math"
	"sort"
	"strings"
	"time"
)

// Limits of the public queries.
const (
	MaxNearbyRadiusM = 5000
	MaxNearbyLimit   = 100
	MaxListLimit     = 1000
)

// NearbyQuery asks for the free spaces nearest a point.
type NearbyQuery struct {
	Lat, Lon float64
	RadiusM  float64  // 1..MaxNearbyRadiusM
	Limit    int      // 1..MaxNearbyLimit
	Kind     Kind     // "" for any kind
	ZoneType ZoneType // "" for any zone type
}

// Validate checks the query's ranges and returns EINVALID naming the field.
func (q *NearbyQuery) Validate() error {
	if err := validLatLon("query", q.Lat, q.Lon); err != nil {
		return err
	}
	switch {
	case math.IsNaN(q.RadiusM) || q.RadiusM <= 0 || q.RadiusM > MaxNearbyRadiusM:
		return Errorf(EINVALID, "radius_m must be above 0 and at most %d", MaxNearbyRadiusM)
	case q.Limit < 1 || q.Limit > MaxNearbyLimit:
		return Errorf(EINVALID, "limit must be 1-%d", MaxNearbyLimit)
	case q.Kind != "" && !q.Kind.Valid():
		return Errorf(EINVALID, "kind %q is not standard, accessible, ev or loading", q.Kind)
	case q.ZoneType != "" && q.ZoneType != OnStreet && q.ZoneType != OffStreet:
		return Errorf(EINVALID, "zone_type %q is not on_street or off_street", q.ZoneType)
	}
	return nil
}

// NearbySpace is a free space found by a nearby query.
type NearbySpace struct {
	Space     Space
	State     SpaceState
	DistanceM float64
	// ObservedAt is when State was read from the store: at the query, or
	// earlier when it comes from an in-memory index kept current by the
	// store's change events. Zero if not known.
	ObservedAt time.Time
}

// NearbyZone is a zone with free spaces, found when a nearby query finds no
// free space within its radius.
type NearbyZone struct {
	Zone      Zone
	DistanceM float64 // from the query's point to the zone's centre
	Free      int     // free spaces of the query's kind (any kind if none)
}

// SpaceFilter selects spaces for a paged listing.
type SpaceFilter struct {
	ZoneID string // "" for every zone
	Status Status // "" for every status
	Limit  int    // 1..MaxListLimit
	After  string // cursor: list spaces whose ID sorts after this one
}

// Validate checks the filter and returns EINVALID naming the field.
func (f *SpaceFilter) Validate() error {
	switch {
	case f.Status != "" && !f.Status.Valid():
		return Errorf(EINVALID, "status %q is not free, occupied, unknown or closed", f.Status)
	case f.Limit < 1 || f.Limit > MaxListLimit:
		return Errorf(EINVALID, "limit must be 1-%d", MaxListLimit)
	}
	return nil
}

// nearestZonesBatch is how many zones NearestFreeZones counts at a time,
// nearest first.
const nearestZonesBatch = 16

// NearestFreeZones walks the zones of q's zone type nearest q's point
// first, nearestZonesBatch at a time, has count fill in their free spaces
// (of q's kind), and returns the first n with some free, distances to their
// centres rounded to 0.1 m: what to offer a driver when a nearby query
// finds no free space within its radius. count's error is returned.
func NearestFreeZones(zones []Zone, q NearbyQuery, n int, count func([]NearbyZone) error) ([]NearbyZone, error) {
	var cand []NearbyZone
	for _, z := range zones {
		if q.ZoneType == "" || z.Type == q.ZoneType {
			cand = append(cand, NearbyZone{Zone: z, DistanceM: Distance(q.Lat, q.Lon, z.Lat, z.Lon)})
		}
	}
	sort.SliceStable(cand, func(i, j int) bool { return cand[i].DistanceM < cand[j].DistanceM })
	out := make([]NearbyZone, 0, n)
	for i := 0; i < len(cand) && len(out) < n; i += nearestZonesBatch {
		batch := cand[i:min(i+nearestZonesBatch, len(cand))]
		if err := count(batch); err != nil {
			return nil, err
		}
		for _, z := range batch {
			if z.Free > 0 && len(out) < n {
				z.DistanceM = math.Round(z.DistanceM*10) / 10
				out = append(out, z)
			}
		}
	}
	return out, nil
}

// KeepFree returns up to limit of the candidates found (nearest first)
// whose states (read at readAt, in the same order) are free: each with its
// state, readAt as ObservedAt and its distance rounded to 0.1 m. What a
// nearby query answers once it has read its candidates' states.
func KeepFree(found []NearbySpace, states []SpaceState, readAt time.Time, limit int) []NearbySpace {
	out := make([]NearbySpace, 0, limit)
	for i, f := range found {
		if states[i].Status != StatusFree || len(out) == limit {
			continue
		}
		f.State, f.ObservedAt = states[i], readAt
		f.DistanceM = math.Round(f.DistanceM*10) / 10
		out = append(out, f)
	}
	return out
}

// ListSpaces pages over reg's spaces that match f, in ID order, reading
// their states with states (the spaces of one call are in ID order), and
// returns them with the cursor of the next page ("" on the last page): the
// id of the page's last space. Only the spaces of the page are built: a
// million-space registry is never copied for one request. EINVALID for a
// bad filter or a cursor that is not a next page's (not a space of the
// registry, or of the zone filtered on: garbage must not restart the
// listing at its first page), ENOTFOUND for an unknown zone; states'
// errors.
func ListSpaces(ctx context.Context, reg *Registry, states func(context.Context, []Space) ([]SpaceState, error), f SpaceFilter) ([]SpaceState, string, error) {
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	reg = reg.Snapshot() // one version for the whole page
	if err := checkCursor(reg, f); err != nil {
		return nil, "", err
	}
	n, page := reg.NumSpaces(), reg.SpacesRange
	i := reg.SpaceIndex(f.After)
	if f.ZoneID != "" {
		if _, ok := reg.Zone(f.ZoneID); !ok {
			return nil, "", Errorf(ENOTFOUND, "zone %s not found", f.ZoneID)
		}
		all := reg.SpacesInZone(f.ZoneID)
		n, page = len(all), func(lo, hi int) []Space { return all[lo:hi] }
		i = sort.Search(len(all), func(i int) bool { return all[i].ID > f.After })
	}
	var out []SpaceState
	var last string
	for i < n && len(out) < f.Limit {
		batch := page(i, min(i+max(f.Limit, 200), n))
		sts, err := states(ctx, batch)
		if err != nil {
			return nil, "", err
		}
		for j, st := range sts {
			i++
			last = batch[j].ID
			if f.Status != "" && st.Status != f.Status {
				continue
			}
			if out = append(out, st); len(out) == f.Limit {
				break
			}
		}
	}
	if i >= n {
		return out, "", nil
	}
	return out, last, nil
}

// checkCursor checks that f.After, when set, is a next_cursor ListSpaces
// could have made for f from reg: a space of reg, of f's zone if any.
func checkCursor(reg *Registry, f SpaceFilter) error {
	if f.After == "" {
		return nil
	}
	sp, ok := reg.Space(f.After)
	if !ok || (f.ZoneID != "" && sp.ZoneID != f.ZoneID) {
		where := "of the registry"
		if f.ZoneID != "" {
			where = "of zone " + f.ZoneID
		}
		return Errorf(EINVALID, "cursor %q is not a next_cursor of this listing (no space %s has that id; "+
			"a space removed since is one too): start again without cursor", truncateID(f.After), where)
	}
	return nil
}

// truncateID shortens an id echoed in an error to 64 bytes.
func truncateID(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "…"
}
