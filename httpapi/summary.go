package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// summaryJSON is the town-wide total of every zone's counters.
type summaryJSON struct {
	occupancy.Counts
	UpdatedAt jsonTime `json:"updated_at"` // newest zone change, or now if none
	staleJSON
}

// summary answers GET /api/v1/summary: the sum of the zones' counters.
func (h *handler) summary(c *gin.Context) {
	zones, err := h.zones.Zones(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	var sum summaryJSON
	var newest time.Time
	for _, z := range zones {
		sum.Add(z.Counts)
		if z.UpdatedAt.After(newest) {
			newest = z.UpdatedAt
		}
	}
	if newest.IsZero() {
		newest = h.now()
	}
	sum.UpdatedAt = jsonTime(newest)
	sum.staleJSON = staleOf(c)
	c.JSON(http.StatusOK, sum)
}
