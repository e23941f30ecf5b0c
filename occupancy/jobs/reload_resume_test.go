package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// killingStore is a store whose DeleteOrphans of zone B ends the reload
// job's process (cancels its Run) instead of running: a parkd killed in
// the middle of a reload, with zone A's orphans deleted and B's not.
type killingStore struct {
	*redisstore.Store
	kill func()
}

func (k killingStore) DeleteOrphans(ctx context.Context, zoneID string) (occupancy.ReloadResult, error) {
	if zoneID == "B" {
		k.kill()
		<-ctx.Done()
		return occupancy.ReloadResult{}, ctx.Err()
	}
	return k.Store.DeleteOrphans(ctx, zoneID)
}

// TestReloadInterruptedIsFinished: a reload cut off half-way (its parkd
// stopped) leaves Redis recording the unfinished reload; the same parkd
// started again finishes it by itself, and so does, when its lease has
// ended, any instance holding the new registry; the state then has no
// drift and no orphans.
func TestReloadInterruptedIsFinished(t *testing.T) {
	for _, who := range []string{"the same instance restarted", "another instance"} {
		t.Run(who, func(t *testing.T) {
			ctx := context.Background()
			clk := storetest.NewClock(storetest.T0)
			rdb := storetest.Backends[0].Start(t)
			s, reg := newStore(t, rdb, clk)
			storetest.MustApply(t, s, storetest.Reading("S2", false, storetest.T0, 1), occupancy.ResultApplied) // A-2 free, removed
			storetest.MustApply(t, s, storetest.Reading("S6", true, storetest.T0, 1), occupancy.ResultApplied)  // B-2 moves to A

			runCtx, kill := context.WithCancel(ctx)
			rl := jobs.NewReloader(jobs.ReloaderOptions{Store: killingStore{s, kill}, Registry: reg, Instance: "parkd-0",
				FollowInterval: 20 * time.Millisecond, Lease: time.Hour})
			stopped := make(chan struct{})
			go func() { defer close(stopped); _ = rl.Run(runCtx) }()
			job, err := rl.Start(ctx, nextRegistry(t), 2, true)
			if err != nil {
				t.Fatal(err)
			}
			<-stopped
			rec, err := s.RegistryRecord(ctx)
			if err != nil || rec.Target != nextRegistry(t).Version() || rec.Job != job.ID {
				t.Fatalf("record after the interruption %+v %v: want the reload unfinished", rec, err)
			}
			if rc, _ := s.Check(ctx, false); len(rc.Drift) == 0 {
				t.Fatal("no drift half-way through: the interruption came too late to test anything")
			}

			// parkd started again with the files it was reloading, or another
			// instance with them.
			next, instance := nextRegistry(t), "parkd-0"
			if who == "another instance" {
				instance = "parkd-1"
			}
			other := storetest.NewStore(t, rdb, next, clk.Now)
			rl2 := storetest.Reloader(t, other, next, func(o *jobs.ReloaderOptions) { o.Instance, o.Now = instance, clk.Now })
			if who == "another instance" {
				time.Sleep(100 * time.Millisecond) // several looks at the record: parkd-0's lease holds
				if rec, _ := s.RegistryRecord(ctx); rec.Job != job.ID {
					t.Fatalf("parkd-1 took the reload over while parkd-0's lease held: %+v", rec)
				}
				clk.Add(2 * time.Hour)
			}
			storetest.Eventually(t, 30*time.Second, func() string {
				rec, err := s.RegistryRecord(ctx)
				if err != nil || rec.Version != next.Version() || rec.Target != "" {
					return "record " + rec.Version + " target " + rec.Target
				}
				return ""
			})
			<-rl2.Usable()
			noDrift(t, other)
			old, err := rl2.Job(ctx, job.ID)
			if err != nil || old.Status != occupancy.ReloadInterrupted || old.ResumedBy == "" {
				t.Errorf("the interrupted job: %+v %v", old, err)
			}
			if _, err := other.Space(ctx, "A-2"); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
				t.Errorf("A-2 after the reload was finished: %v", err)
			}
		})
	}
}

// failingStore is a store whose DeleteOrphans of zone B fails as a
// Redis error would.
type failingStore struct{ *redisstore.Store }

func (f failingStore) DeleteOrphans(ctx context.Context, zoneID string) (occupancy.ReloadResult, error) {
	if zoneID == "B" {
		return occupancy.ReloadResult{}, errors.New("redis store: find orphans of zone B: connection refused")
	}
	return f.Store.DeleteOrphans(ctx, zoneID)
}

// TestReloadRerunFinishesIt: repeating the request of a reload that failed
// (Redis failing for longer than the job retries) finishes it, without
// confirm_remove again, although this instance's registry is already the
// new one (the difference it sees is empty).
func TestReloadRerunFinishesIt(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(storetest.T0)
	rdb := storetest.Backends[0].Start(t)
	s, reg := newStore(t, rdb, clk)
	storetest.MustApply(t, s, storetest.Reading("S2", false, storetest.T0, 1), occupancy.ResultApplied)
	rl := storetest.Reloader(t, failingStore{s}, reg, func(o *jobs.ReloaderOptions) {
		o.RetryFor, o.FollowInterval, o.Instance = 200*time.Millisecond, time.Hour, "parkd-0" // no second look: no finishing by itself
	})
	<-rl.Usable() // its first look at the record is over
	job, err := rl.Start(ctx, nextRegistry(t), 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if job, err = rl.Wait(ctx, job.ID); job.Status != occupancy.ReloadFailed || !strings.Contains(job.Error, "connection refused") {
		t.Fatalf("job %+v %v, want failed", job, err)
	}
	if n, err := rdb.HExists(ctx, "pk:{B}:s", "B-2").Result(); err != nil || !n {
		t.Fatalf("B-2.s state in zone B deleted although the orphans step failed: %v %v", n, err)
	}

	rl = storetest.Reloader(t, s, reg, func(o *jobs.ReloaderOptions) { o.Instance = "parkd-1" }) // not waiting for parkd-0's lease
	plan, err := rl.Plan(ctx, nextRegistry(t))
	if err != nil || plan.Counts != (occupancy.ReloadCounts{Unchanged: 6}) || plan.Deletes != 1 || plan.ConfirmNeeded {
		t.Errorf("plan of the re-run %+v %v: want nothing changed, B-2's state in B to delete, no confirm needed", plan, err)
	}
	job, err = rl.Start(ctx, nextRegistry(t), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if job, err = rl.Wait(ctx, job.ID); err != nil || job.Status != occupancy.ReloadDone || job.Result.Deleted != 1 {
		t.Fatalf("re-run %+v %v", job, err)
	}
	if n, err := rdb.HExists(ctx, "pk:{B}:s", "B-2").Result(); err != nil || n {
		t.Errorf("B-2.s state in zone B after the re-run: %v %v", n, err)
	}
	noDrift(t, s)
}
