package httpapi

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// RegistryReloader puts a new registry in force as a background job.
// parkd's *jobs.Reloader implements it.
type RegistryReloader interface {
	// Plan answers what a reload to next would change, changing nothing.
	// ECONFLICT when next adds or removes a zone.
	Plan(ctx context.Context, next *occupancy.Registry) (occupancy.ReloadPlan, error)
	// Start begins a reload to next and returns its job. ECONFLICT when
	// next adds or removes a zone, when the removal guard refuses it
	// (confirm, when confirmed, must be the number of states it deletes),
	// or while a reload to another version runs.
	Start(ctx context.Context, next *occupancy.Registry, confirm int, confirmed bool) (occupancy.ReloadJob, error)
	// Job returns a job. ENOTFOUND for an unknown id.
	Job(ctx context.Context, id string) (occupancy.ReloadJob, error)
}

// startTimeout bounds the start of a reload (its plan reads every stored
// state: about a second at a million spaces), whether or not the client
// waits for it.
const startTimeout = time.Minute

// reloadJobsPath is where a reload job is read: reloadJobsPath + id.
const reloadJobsPath = "/api/v1/admin/registry/reload/jobs/"

// reloadRegistry answers POST /api/v1/admin/registry/reload: it re-reads
// the registry with Options.RegistryLoader and, with dry_run=true, answers
// the occupancy.ReloadPlan (200, nothing changed); otherwise it starts the
// reload as a job and answers 202 with the occupancy.ReloadJob and its
// Location. confirm_remove=N allows a reload that deletes more than the
// configured share of the stored spaces, N being the number it deletes.
// 404 when parkd has no registry files to re-read (an embedded registry)
// or no reloader; 409 when the files do not load, add or remove a zone,
// or the guard refuses the reload (the running registry is kept).
//
// Admin only: the route is registered on the /api/v1/admin group.
func (h *handler) reloadRegistry(c *gin.Context) {
	q := c.Request.URL.Query()
	dry, err := boolParam(c, "dry_run")
	var confirm int
	if err == nil {
		confirm, err = intParam(q, "confirm_remove", -1, 0, math.MaxInt32)
	}
	if err != nil {
		fail(c, err)
		return
	}
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
	if dry {
		plan, err := h.reloader.Plan(c.Request.Context(), next)
		if err != nil {
			fail(c, err)
			return
		}
		plan.DryRun = true
		c.JSON(http.StatusOK, plan)
		return
	}
	// Once the request is read, the client going away changes nothing: the
	// reload is refused or started as if it had stayed.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), startTimeout)
	defer cancel()
	job, err := h.reloader.Start(ctx, next, confirm, confirm >= 0)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", reloadJobsPath+job.ID)
	c.JSON(http.StatusAccepted, job)
}

// reloadJob answers GET /api/v1/admin/registry/reload/jobs/{id} with the
// occupancy.ReloadJob, whichever instance runs or ran it; 404 for an
// unknown id (jobs are kept a week).
func (h *handler) reloadJob(c *gin.Context) {
	if h.reloader == nil {
		fail(c, occupancy.Errorf(occupancy.ENOTFOUND, "this parkd has no registry reloader"))
		return
	}
	job, err := h.reloader.Job(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, job)
}
