package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// Closer closes and opens spaces and zones. *redisstore.Store implements
// it; without one (Options.Closures nil) the closure endpoints answer 404.
type Closer interface {
	// CloseSpace closes a space until opened or c.Until. ENOTFOUND,
	// EINVALID.
	CloseSpace(ctx context.Context, id string, c occupancy.Closure) (occupancy.Closure, error)
	// CloseZone closes every space of a zone. ENOTFOUND, EINVALID.
	CloseZone(ctx context.Context, id string, c occupancy.Closure) (occupancy.Closure, error)
	// OpenSpace ends a space's closure. ENOTFOUND; ECONFLICT while its
	// zone is closed.
	OpenSpace(ctx context.Context, id string) error
	// OpenZone ends a zone's closure. ENOTFOUND.
	OpenZone(ctx context.Context, id string) error
}

// closureRoutes registers the closure actions on a group that requires
// role operator.
func (h *handler) closureRoutes(op *gin.RouterGroup) {
	op.POST("/spaces/:id/close", h.closeSpace)
	op.POST("/spaces/:id/open", h.openSpace)
	op.POST("/zones/:id/close", h.closeZone)
	op.POST("/zones/:id/open", h.openZone)
}

// closeRequest is the body of a close: a reason and an optional until.
type closeRequest struct {
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until"`
}

// closureJSON is a closure as the API shows it.
type closureJSON struct {
	Target   string   `json:"target"`
	Zone     bool     `json:"zone"`
	Reason   string   `json:"reason"`
	Until    jsonTime `json:"until"` // null: until opened
	ClosedAt jsonTime `json:"closed_at"`
	By       string   `json:"by"`
}

func newClosureJSON(c occupancy.Closure) *closureJSON {
	return &closureJSON{Target: c.Target, Zone: c.Zone, Reason: c.Reason, Until: jsonTime(c.Until),
		ClosedAt: jsonTime(c.ClosedAt), By: c.By}
}

// closeSpace answers POST /api/v1/spaces/:id/close with the space, now
// closed, and its closure.
func (h *handler) closeSpace(c *gin.Context) {
	cl, closer, ok := h.closeArgs(c)
	if !ok {
		return
	}
	got, err := closer.CloseSpace(c.Request.Context(), c.Param("id"), cl)
	if err != nil {
		fail(c, err)
		return
	}
	h.answerSpace(c, c.Param("id"), newClosureJSON(got))
}

// openSpace answers POST /api/v1/spaces/:id/open with the space as its
// sensor reports it again, or 409 while its zone is closed.
func (h *handler) openSpace(c *gin.Context) {
	closer, ok := h.closer(c)
	if !ok {
		return
	}
	if err := closer.OpenSpace(c.Request.Context(), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	h.answerSpace(c, c.Param("id"), nil)
}

// closeZone answers POST /api/v1/zones/:id/close with the zone, now
// closed, and its closure.
func (h *handler) closeZone(c *gin.Context) {
	cl, closer, ok := h.closeArgs(c)
	if !ok {
		return
	}
	got, err := closer.CloseZone(c.Request.Context(), c.Param("id"), cl)
	if err != nil {
		fail(c, err)
		return
	}
	h.answerZone(c, c.Param("id"), newClosureJSON(got))
}

// openZone answers POST /api/v1/zones/:id/open with the zone.
func (h *handler) openZone(c *gin.Context) {
	closer, ok := h.closer(c)
	if !ok {
		return
	}
	if err := closer.OpenZone(c.Request.Context(), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	h.answerZone(c, c.Param("id"), nil)
}

// closer returns the Closer, or reports 404.
func (h *handler) closer(c *gin.Context) (Closer, bool) {
	if h.closures == nil {
		fail(c, missing("closures"))
		return nil, false
	}
	return h.closures, true
}

// closeArgs reads the close body into a Closure signed by the caller's
// role; it reports 400 for a body that is not {"reason", "until"}.
func (h *handler) closeArgs(c *gin.Context) (occupancy.Closure, Closer, bool) {
	closer, ok := h.closer(c)
	if !ok {
		return occupancy.Closure{}, nil, false
	}
	var req closeRequest
	if err := readJSON(c, &req); err != nil {
		if errors.Is(err, errEmptyBody) {
			err = occupancy.Errorf(occupancy.EINVALID, `the body must be {"reason": "…", "until": RFC 3339 time or null}`)
		}
		fail(c, err)
		return occupancy.Closure{}, nil, false
	}
	cl := occupancy.Closure{Reason: req.Reason, By: string(callerRole(c))}
	if req.Until != nil {
		cl.Until = req.Until.UTC()
	}
	return cl, closer, true
}

// answerSpace writes {"space", "closure"} for space id.
func (h *handler) answerSpace(c *gin.Context, id string, cl *closureJSON) {
	sp, _ := h.reg.Space(id) // the store found it
	st, err := h.store.Space(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"space": newSpaceJSON(sp, st, true), "closure": cl})
}

// answerZone writes {"zone", "closure"} for zone id.
func (h *handler) answerZone(c *gin.Context, id string, cl *closureJSON) {
	z, _ := h.reg.Zone(id) // the store found it
	st, err := h.zones.Zone(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"zone": newZoneJSON(z, st), "closure": cl})
}
