package occupancy

import (
	"math"
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
