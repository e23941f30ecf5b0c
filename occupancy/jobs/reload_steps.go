package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qiuai/parking/internal/retry"
	"github.com/qiuai/parking/occupancy"
)

// syncBatch is how many spaces of a zone the spaces step hands the store
// at a time (it makes calls of redisstore.ReconcileChunk): the job's
// progress and lease are updated between batches.
const syncBatch = 5000

// execute runs a job's steps: swap the registry here, fence every zone,
// store and re-index the new registry's spaces, delete the orphans,
// resolve their incidents, record the version in force. Each step is
// idempotent and retried while Redis fails, for RetryFor; a job that fails
// or is interrupted leaves the reload unfinished in Redis, and the next
// job to the same version (a re-run, or Run on any instance with it)
// finishes it.
func (r *Reloader) execute(ctx context.Context, run *reloadRun) {
	defer func() {
		r.mu.Lock()
		r.current = nil
		r.mu.Unlock()
		close(run.done)
	}()
	start := time.Now()
	err := r.steps(ctx, run)
	now := r.opts.Now().UTC()
	j := &run.job
	j.UpdatedAt, j.FinishedAt = now, &now
	switch {
	case err == nil:
		j.Status, j.Step = occupancy.ReloadDone, "done"
		r.log.Info("registry reload done", "job", j.ID, "version", j.Version, "took", time.Since(start).Round(time.Millisecond),
			"created", j.Result.Created, "deleted", j.Result.Deleted, "reindexed", j.Result.Reindexed,
			"closures_ended", j.Result.ClosuresEnded, "incidents_resolved", j.Result.IncidentsResolved)
	case ctx.Err() != nil:
		j.Status, j.Error = occupancy.ReloadInterrupted, "parkd stopped during the reload: it is finished at the next start"
		r.log.Warn("registry reload interrupted", "job", j.ID, "step", j.Step)
	default:
		j.Status, j.Error = occupancy.ReloadFailed, err.Error()+": repeat the reload to finish it"
		r.log.Error("registry reload failed: repeat it to finish it", "job", j.ID, "step", j.Step, "err", err)
		if err := r.store.ReleaseReload(context.WithoutCancel(ctx), j.ID); err != nil {
			r.log.Warn("reload lease not released", "job", j.ID, "err", err)
		}
	}
	r.save(context.WithoutCancel(ctx), run, true)
	if r.opts.Reloaded != nil {
		r.opts.Reloaded()
	}
}

// steps runs the job's steps (see execute).
func (r *Reloader) steps(ctx context.Context, run *reloadRun) error {
	j, next := &run.job, run.next
	zones := next.Zones()
	j.Progress = occupancy.ReloadProgress{Zones: len(zones), Spaces: next.NumSpaces()}
	r.stepTo(ctx, run, "swap")
	if !r.opts.Registry.SameVersion(next) {
		r.store.SwapRegistry(next)
	}
	r.stepTo(ctx, run, "fence")
	for _, z := range zones {
		if err := r.retry(ctx, run, func() error { return r.store.Fence(ctx, z.ID, j.Version) }); err != nil {
			return err
		}
	}
	r.stepTo(ctx, run, "spaces")
	for _, z := range zones {
		if err := r.syncZone(ctx, run, z.ID); err != nil {
			return err
		}
	}
	r.stepTo(ctx, run, "orphans")
	for _, z := range zones {
		err := r.retry(ctx, run, func() error {
			res, err := r.store.DeleteOrphans(ctx, z.ID)
			j.Result.Deleted, j.Result.ClosuresEnded = j.Result.Deleted+res.Deleted, j.Result.ClosuresEnded+res.ClosuresEnded
			j.Result.Reindexed += res.Reindexed
			return err
		})
		if err != nil {
			return err
		}
		r.save(ctx, run, false)
	}
	return r.finish(ctx, run)
}

// syncZone runs the spaces step over one zone, in batches.
func (r *Reloader) syncZone(ctx context.Context, run *reloadRun, zoneID string) error {
	spaces := run.next.SpacesInZone(zoneID)
	for len(spaces) > 0 {
		batch := spaces[:min(syncBatch, len(spaces))]
		spaces = spaces[len(batch):]
		err := r.retry(ctx, run, func() error {
			created, changed, err := r.store.SyncSpaces(ctx, zoneID, batch)
			run.job.Result.Created, run.job.Result.Reindexed = run.job.Result.Created+created, run.job.Result.Reindexed+changed
			return err
		})
		if err != nil {
			return err
		}
		run.job.Progress.SpacesDone += len(batch)
		r.save(ctx, run, false)
	}
	return nil
}

// finish resolves the orphans' incidents and records the version in force.
func (r *Reloader) finish(ctx context.Context, run *reloadRun) error {
	j := &run.job
	r.stepTo(ctx, run, "incidents")
	for _, z := range run.next.Zones() {
		err := r.retry(ctx, run, func() error {
			n, err := r.store.ResolveOrphanIncidents(ctx, z.ID)
			j.Result.IncidentsResolved += n
			return err
		})
		if err != nil {
			return err
		}
		j.Progress.ZonesDone++
	}
	r.stepTo(ctx, run, "record")
	return r.retry(ctx, run, func() error { return r.store.FinishReload(ctx, j.ID) })
}

// stepTo starts a step: logged and saved.
func (r *Reloader) stepTo(ctx context.Context, run *reloadRun, step string) {
	run.job.Step = step
	r.log.Info("registry reload step", "job", run.job.ID, "step", step, "spaces_done", run.job.Progress.SpacesDone)
	r.save(ctx, run, true)
}

// save stores the job's progress (at most once a second unless now) and
// renews its lease; it keeps this process's copy current in any case.
func (r *Reloader) save(ctx context.Context, run *reloadRun, now bool) {
	run.job.UpdatedAt = r.opts.Now().UTC()
	r.mu.Lock()
	r.recent[run.job.ID] = run.job
	r.mu.Unlock()
	if !now && time.Since(run.saved) < time.Second {
		return
	}
	run.saved = time.Now()
	if err := r.store.SaveReloadJob(ctx, run.job); err != nil {
		r.log.Warn("reload job progress not saved", "job", run.job.ID, "err", err)
	}
	if run.job.Status == occupancy.ReloadRunning {
		if err := r.store.RenewReload(ctx, run.job.ID, r.opts.Lease); err != nil {
			r.log.Warn("reload lease not renewed", "job", run.job.ID, "err", err)
		}
	}
}

// retry runs f until it succeeds, ctx ends, f fails with a conflict (the
// lease lost, a zone fenced for another version: retrying cannot help), or
// RetryFor has passed since its first failure.
func (r *Reloader) retry(ctx context.Context, run *reloadRun, f func() error) error {
	wait := retry.Backoff(100*time.Millisecond, 5*time.Second)
	var first time.Time
	for {
		err := f()
		if err == nil || occupancy.ErrorCode(err) == occupancy.ECONFLICT {
			return err
		}
		if first.IsZero() {
			first = time.Now()
		} else if time.Since(first) > r.opts.RetryFor {
			return fmt.Errorf("reload step %s: %w", run.job.Step, err)
		}
		r.log.Warn("reload step failed, retrying", "job", run.job.ID, "step", run.job.Step, "err", err)
		if !sleep(ctx, wait.NextBackOff()) {
			return errors.Join(ctx.Err(), err)
		}
	}
}
