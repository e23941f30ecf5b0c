package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// Checker runs the store's consistency check. *redisstore.Store implements
// it; without one (Options.Checker nil) the check endpoint answers 404.
type Checker interface {
	// Check recomputes every zone's counters and indexes from its spaces
	// and reports the drift; repair corrects it. The error is EINTERNAL.
	Check(ctx context.Context, repair bool) (occupancy.CheckReport, error)
}

// check answers POST /api/v1/admin/check?repair=true|false with the
// occupancy.CheckReport: zones and spaces checked, every drift item and
// whether it was repaired. repair defaults to false.
//
// Admin only: the route is registered on the /api/v1/admin group, which
// requires a staff token of role admin. Never expose it
// without that.
func (h *handler) check(c *gin.Context) {
	repair, err := boolParam(c, "repair")
	if err != nil {
		fail(c, err)
		return
	}
	if h.checker == nil {
		fail(c, missing("consistency check"))
		return
	}
	rep, err := h.checker.Check(c.Request.Context(), repair)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

// boolParam parses the query parameter name as true or false (absent is
// false).
func boolParam(c *gin.Context, name string) (bool, error) {
	s, ok, err := param(c.Request.URL.Query(), name)
	switch {
	case err != nil:
		return false, err
	case !ok || s == "false":
		return false, nil
	case s == "true":
		return true, nil
	}
	return false, occupancy.Errorf(occupancy.EINVALID, "%s must be true or false, not %q", name, truncate(s, maxParamLen))
}
