package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Run follows Redis's registry record every FollowInterval and runs the
// jobs Start queues, one at a time, until ctx ends. On each look at the
// record it:
//   - records this instance's registry as in force if none is (first start);
//   - reads the registry files again (Load) when the version in force, or
//     the one a reload puts in force, is not this instance's, and swaps the
//     registry if the files now hold it (following a reload run elsewhere);
//   - finishes an unfinished reload to this instance's registry whose
//     lease has ended (its instance was killed, or this is that instance
//     after a restart);
//   - otherwise says, through Problem, that this instance's registry is not
//     in force, and keeps Usable open until it is.
func (r *Reloader) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case run := <-r.queue:
			r.execute(ctx, run)
		case <-t.C:
			r.tick(ctx)
			t.Reset(r.opts.FollowInterval)
		}
	}
}

// tick is one look at the registry record (see Run).
func (r *Reloader) tick(ctx context.Context) {
	if r.busy() {
		return // a job of this instance is queued: it runs next
	}
	rec, err := r.store.RegistryRecord(ctx)
	if err != nil {
		r.log.Warn("registry record not read", "err", err)
		return
	}
	want := rec.Version
	if rec.Target != "" {
		want = rec.Target
	}
	if want == "" {
		if want, err = r.store.AdoptRegistry(ctx, r.opts.Registry.Version()); err != nil {
			r.log.Warn("registry version not recorded", "err", err)
			return
		}
	}
	r.follow(want)
	mine := r.opts.Registry.Version()
	if mine != want {
		r.setProblem(fmt.Sprintf("this instance's registry files (version %s) are not the registry in force (%s)%s: "+
			"POST /api/v1/admin/registry/reload to put them in force, or give this instance the files in force",
			mine, want, pendingText(rec)))
		return
	}
	r.setProblem("")
	if rec.Target == mine && (!rec.Leased(r.opts.Now()) || rec.Owner == r.opts.Instance) {
		r.resume(ctx, rec)
	}
}

// pendingText says which reload, if any, rec records as unfinished.
func pendingText(rec occupancy.RegistryRecord) string {
	if rec.Target == "" {
		return ""
	}
	return fmt.Sprintf(", which reload job %s is putting in force in place of %s", rec.Job, rec.Version)
}

// follow reads the registry files again when want is not this instance's
// registry (at most once a minute for the same want) and swaps them in if
// they hold it.
func (r *Reloader) follow(want string) {
	if r.opts.Load == nil || want == r.opts.Registry.Version() ||
		(want == r.followed && r.opts.Now().Sub(r.followAt) < time.Minute) {
		return
	}
	r.followed, r.followAt = want, r.opts.Now()
	next, err := r.opts.Load()
	if err == nil {
		err = occupancy.SameZones(r.opts.Registry, next)
	}
	if err != nil {
		r.log.Warn("registry files not read again", "err", err)
		return
	}
	if next.Version() != want {
		return
	}
	r.store.SwapRegistry(next)
	r.log.Info("registry reload followed", "version", want, "spaces", next.NumSpaces())
	if r.opts.Reloaded != nil {
		r.opts.Reloaded()
	}
}

// resume finishes the unfinished reload rec records, to this instance's
// registry, as a new job.
func (r *Reloader) resume(ctx context.Context, rec occupancy.RegistryRecord) {
	run, running, err := r.reserve(r.opts.Registry.Snapshot())
	if err != nil || running != nil {
		return // a job of this instance is starting
	}
	job := &run.job
	job.Resumes = rec.Job
	if job.Previous, err = r.store.BeginReload(ctx, job.ID, r.opts.Instance, job.Version, r.opts.Lease); err != nil {
		r.release(run)
		r.log.Info("unfinished reload not taken over", "job", rec.Job, "err", err)
		return
	}
	if old, err := r.store.ReloadJob(ctx, rec.Job); err == nil && old.Status != occupancy.ReloadDone {
		if old.Status == occupancy.ReloadRunning { // its instance died with it
			old.Status = occupancy.ReloadInterrupted
		}
		old.ResumedBy, old.UpdatedAt = job.ID, r.opts.Now().UTC()
		_ = r.store.SaveReloadJob(ctx, old)
	}
	r.log.Warn("finishing an unfinished registry reload", "job", job.ID, "resumes", rec.Job, "version", job.Version,
		"previous_owner", rec.Owner)
	r.mu.Lock()
	r.recent[job.ID], r.done[job.ID] = *job, run.done
	r.mu.Unlock()
	r.execute(ctx, run)
}

// busy reports whether a job is queued or running here.
func (r *Reloader) busy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current != nil
}

// setProblem records why this instance's registry is not in force ("" when
// it is: then Usable is closed), logging each new problem once.
func (r *Reloader) setProblem(p string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p != "" && p != r.problem {
		r.log.Error("registry not in force", "problem", p)
	}
	r.problem = p
	if p == "" {
		select {
		case <-r.usable:
		default:
			close(r.usable)
		}
	}
}
