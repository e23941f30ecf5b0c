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
)

// nearby answers GET /api/v1/nearby?lat=&lon=&radius_m=&limit=&kind=: the
// free spaces nearest the point, nearest first, with their distance.
func (h *handler) nearby(c *gin.Context) {
	q, err := parseNearby(c.Request.URL.Query())
	if err != nil {
		fail(c, err)
		return
	}
	found, err := h.store.Nearby(c.Request.Context(), q)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]nearbyJSON, len(found))
	for i, n := range found {
		out[i] = newNearbyJSON(n)
	}
	c.JSON(http.StatusOK, gin.H{"spaces": out})
}

// parseNearby reads a nearby query from URL parameters: lat and lon are
// required, radius_m defaults to 500, limit to 10, kind to any. It returns a
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
	return q, q.Validate()
}
