package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// RegistryReloader swaps the running registry for a new one. parkd's
// reloader (the store's Reload, then a rebuild of the read model)
// implements it.
type RegistryReloader interface {
	// Reload makes next the registry: new spaces unknown, removed ones
	// retired, the others kept. ECONFLICT when the zones differ.
	Reload(ctx context.Context, next *occupancy.Registry) (occupancy.ReloadReport, error)
}

// reloadRegistry answers POST /api/v1/admin/registry/reload: it re-reads
// the registry with Options.RegistryLoader and applies it, answering the
// occupancy.ReloadReport. 404 when parkd has no registry files to re-read
// (an embedded registry) or no reloader; 409 when the files do
// not load or add or remove a zone (the running registry is kept).
//
// Admin only: the route is registered on the /api/v1/admin group.
func (h *handler) reloadRegistry(c *gin.Context) {
	if h.reloader == nil || h.loadRegistry == nil {
		fail(c, occupancy.Errorf(occupancy.ENOTFOUND, "this parkd has no registry files to reload"))
		return
	}
	next, err := h.loadRegistry()
	if err != nil {
		fail(c, occupancy.Errorf(occupancy.ECONFLICT, "the registry files do not load, the running registry is kept: %s",
			occupancy.ErrorMessage(err)))
		return
	}
	rep, err := h.reloader.Reload(c.Request.Context(), next)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
