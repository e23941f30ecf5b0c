package jobs

import (
	"context"

	"github.com/qiuai/parking/occupancy"
)

// Plan answers what a reload to next would do, changing nothing: the
// difference from the running registry, the stored states it would delete
// (an HSCAN of every zone's states), by zone, and whether the guard needs
// confirm_remove. ECONFLICT when next adds or removes a zone.
func (r *Reloader) Plan(ctx context.Context, next *occupancy.Registry) (occupancy.ReloadPlan, error) {
	cur := r.opts.Registry.Snapshot()
	if err := occupancy.SameZones(cur, next); err != nil {
		return occupancy.ReloadPlan{}, err
	}
	rec, err := r.store.RegistryRecord(ctx)
	if err != nil {
		return occupancy.ReloadPlan{}, err
	}
	p := occupancy.ReloadPlan{ReloadReport: occupancy.DiffRegistries(cur, next), Running: cur.Version(),
		InForce: rec.Version, Pending: rec.Target, DeletesByZone: map[string]int{}, MaxRemoveShare: r.opts.MaxRemoveShare}
	for _, z := range next.Zones() {
		stored, orphans, err := r.store.CountStored(ctx, z.ID, next)
		if err != nil {
			return p, err
		}
		p.Stored, p.Deletes, p.DeletesByZone[z.ID] = p.Stored+stored, p.Deletes+orphans, orphans
	}
	p.ConfirmNeeded = occupancy.NeedsConfirm(p.Deletes, p.Stored, p.MaxRemoveShare) &&
		(p.Pending == "" || p.Pending != p.Version)
	return p, nil
}

// Start begins a reload to next as a background job (Run runs it) and
// returns the job. It is refused with ECONFLICT when next adds or removes
// a zone, when the guard refuses it (occupancy.ReloadPlan.Guard: confirm,
// when confirmed, must be the number of states it deletes), when this
// instance runs a job to another version, or when another instance holds
// the reload lease. Asking again for the version a job here is putting in
// force returns that job.
func (r *Reloader) Start(ctx context.Context, next *occupancy.Registry, confirm int, confirmed bool) (occupancy.ReloadJob, error) {
	run, running, err := r.reserve(next)
	if err != nil {
		return occupancy.ReloadJob{}, err
	}
	if running != nil {
		return *running, nil
	}
	started := false
	defer func() {
		if !started {
			r.release(run)
		}
	}()
	plan, err := r.Plan(ctx, next)
	if err != nil {
		return occupancy.ReloadJob{}, err
	}
	if err := plan.Guard(confirm, confirmed); err != nil {
		return occupancy.ReloadJob{}, err
	}
	job := &run.job
	job.Diff = &plan.ReloadReport
	if job.Previous, err = r.store.BeginReload(ctx, job.ID, r.opts.Instance, job.Version, r.opts.Lease); err != nil {
		return occupancy.ReloadJob{}, err
	}
	out := *job // run.job is the job's own once queued
	r.mu.Lock()
	r.recent[job.ID], r.done[job.ID] = out, run.done
	r.mu.Unlock()
	started = true
	r.log.Info("registry reload queued", "job", out.ID, "version", out.Version, "previous", out.Previous,
		"added", plan.Counts.Added, "removed", plan.Counts.Removed, "changed", plan.Counts.Changed, "deletes", plan.Deletes)
	r.queue <- run // room: a run is queued only while none is current
	return out, nil
}

// reserve makes a new run to next this instance's current one. If a run
// is current already it returns that run's job instead when the job is
// started and puts next in force, and ECONFLICT otherwise.
func (r *Reloader) reserve(next *occupancy.Registry) (*reloadRun, *occupancy.ReloadJob, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.current; cur != nil {
		for id, job := range r.recent {
			if job.Version == next.Version() && r.done[id] == cur.done {
				return nil, &job, nil
			}
		}
		return nil, nil, occupancy.Errorf(occupancy.ECONFLICT,
			"a reload to registry version %s is starting or running on this instance: wait for it to end", next.Version())
	}
	now := r.opts.Now().UTC()
	run := &reloadRun{next: next, done: make(chan struct{}), job: occupancy.ReloadJob{ID: newJobID(now),
		Status: occupancy.ReloadRunning, Instance: r.opts.Instance, Version: next.Version(), Step: "queued",
		StartedAt: now, UpdatedAt: now}}
	r.current, r.recent[run.job.ID], r.done[run.job.ID] = run, run.job, run.done
	return run, nil, nil
}

// release undoes reserve for a run that did not start.
func (r *Reloader) release(run *reloadRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current == run {
		r.current = nil
	}
	delete(r.recent, run.job.ID)
	delete(r.done, run.job.ID)
	close(run.done)
}

// Job returns a reload job, this instance's or another's. A job that says
// running but no longer holds the reload lease (its instance stopped or
// died) is answered as interrupted. ENOTFOUND for an unknown id.
func (r *Reloader) Job(ctx context.Context, id string) (occupancy.ReloadJob, error) {
	r.mu.Lock()
	job, ok := r.recent[id]
	ok = ok && id != ""
	mine := ok && r.current != nil && r.current.job.ID == id
	r.mu.Unlock()
	if !ok {
		var err error
		if job, err = r.store.ReloadJob(ctx, id); err != nil {
			return job, err
		}
	}
	if job.Status == occupancy.ReloadRunning && !mine {
		rec, err := r.store.RegistryRecord(ctx)
		if err != nil {
			return job, err
		}
		if rec.Job != id || !rec.Leased(r.opts.Now()) {
			job.Status = occupancy.ReloadInterrupted
		}
	}
	return job, nil
}

// Wait waits until job id ends (or ctx does) and returns it. It waits on
// this instance's jobs directly, and reads another instance's every
// FollowInterval.
func (r *Reloader) Wait(ctx context.Context, id string) (occupancy.ReloadJob, error) {
	r.mu.Lock()
	done := r.done[id]
	r.mu.Unlock()
	for {
		if done != nil {
			select {
			case <-done:
			case <-ctx.Done():
				return occupancy.ReloadJob{}, ctx.Err()
			}
		}
		job, err := r.Job(ctx, id)
		if err != nil || job.Status != occupancy.ReloadRunning {
			return job, err
		}
		if !sleep(ctx, r.opts.FollowInterval) {
			return job, ctx.Err()
		}
	}
}
