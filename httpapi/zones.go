package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// listZones answers GET /api/v1/zones: every zone in registry order.
func (h *handler) listZones(c *gin.Context) {
	states, err := h.zones.Zones(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	byID := make(map[string]occupancy.ZoneState, len(states))
	for _, st := range states {
		byID[st.ZoneID] = st
	}
	zones := h.reg.Zones()
	out := make([]zoneJSON, 0, len(zones))
	for _, z := range zones {
		out = append(out, newZoneJSON(z, byID[z.ID]))
	}
	c.JSON(http.StatusOK, struct {
		Zones []zoneJSON `json:"zones"`
		staleJSON
	}{out, staleOf(c)})
}

// getZone answers GET /api/v1/zones/:id, or 404.
func (h *handler) getZone(c *gin.Context) {
	id := c.Param("id")
	z, ok := h.reg.Zone(id)
	if !ok {
		fail(c, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", truncate(id, 64)))
		return
	}
	st, err := h.zones.Zone(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, struct {
		zoneJSON
		staleJSON
	}{newZoneJSON(z, st), staleOf(c)})
}
