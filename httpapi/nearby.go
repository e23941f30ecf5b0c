package httpapi

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// Defaults of the nearby query.
const (
	defaultNearbyRadiusM = 500
	defaultNearbyLimit   = 10
	// nearestZonesOffered is how many zones with free spaces an answer
	// names when nothing is free within the radius.
	nearestZonesOffered = 3
)

// nearbyAnswer is the answer of GET /api/v1/nearby. NearestZones is there
// only when Spaces is empty: the nearest zones that do have free spaces of
// the asked kind and zone type (possibly none).
type nearbyAnswer struct {
	Spaces       []nearbyJSON      `json:"spaces"`
	NearestZones *[]nearbyZoneJSON `json:"nearest_zones_with_free,omitempty"`
	staleJSON
}

// nearbyZoneJSON is a zone offered when nothing is free near the point.
type nearbyZoneJSON struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Type      occupancy.ZoneType `json:"type"`
	Lat       float64            `json:"lat"`
	Lon       float64            `json:"lon"`
	DistanceM float64            `json:"distance_m"` // to the zone's centre, rounded to 0.1 m
	Free      int                `json:"free"`       // of the asked kind
}

// nearby answers GET /api/v1/nearby?lat=&lon=&radius_m=&limit=&kind=&zone_type=:
// the free spaces nearest the point, nearest first, with their distance;
// when none is within the radius, the nearest zones with free spaces.
func (h *handler) nearby(c *gin.Context) {
	q, err := parseNearby(c.Request.URL.Query())
	if err != nil {
		fail(c, err)
		return
	}
	found, err := h.zones.Nearby(c.Request.Context(), q)
	if err != nil {
		fail(c, err)
		return
	}
	ans := nearbyAnswer{Spaces: make([]nearbyJSON, len(found))}
	for i, n := range found {
		ans.Spaces[i] = newNearbyJSON(n, isStaff(c))
	}
	if len(found) == 0 {
		zones, err := h.zones.NearestFreeZones(c.Request.Context(), q, nearestZonesOffered)
		if err != nil {
			fail(c, err)
			return
		}
		out := make([]nearbyZoneJSON, len(zones))
		for i, z := range zones {
			out[i] = nearbyZoneJSON{ID: z.Zone.ID, Name: z.Zone.Name, Type: z.Zone.Type,
				Lat: z.Zone.Lat, Lon: z.Zone.Lon, DistanceM: z.DistanceM, Free: z.Free}
		}
		ans.NearestZones = &out
	}
	ans.staleJSON = staleOf(c)
	c.JSON(http.StatusOK, ans)
}

// parseNearby reads a nearby query from URL parameters: lat and lon are
// required, radius_m defaults to 500, limit to 10, kind and zone_type to
// any. It returns a
// query that passes Validate, or an EINVALID error naming the parameter.
func parseNearby(v url.Values) (occupancy.NearbyQuery, error) {
	var q occupancy.NearbyQuery
	var err error
	if q.Lat, err = floatParam(v, "lat", 0, true); err != nil {
		return q, err
	}
	if q.Lon, err = floatParam(v, "lon", 0, true); err != nil {
		return q, err
	}
	if q.RadiusM, err = floatParam(v, "radius_m", defaultNearbyRadiusM, false); err != nil {
		return q, err
	}
	if q.Limit, err = intParam(v, "limit", defaultNearbyLimit, 1, occupancy.MaxNearbyLimit); err != nil {
		return q, err
	}
	kind, _, err := param(v, "kind")
	if err != nil {
		return q, err
	}
	q.Kind = occupancy.Kind(truncate(kind, maxParamLen))
	zt, _, err := param(v, "zone_type")
	if err != nil {
		return q, err
	}
	q.ZoneType = occupancy.ZoneType(truncate(zt, maxParamLen))
	return q, q.Validate()
}
