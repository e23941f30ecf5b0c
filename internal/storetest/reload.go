package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
)

// Reloader returns a jobs.Reloader of s, whose registry is reg, looking at
// Redis's registry record every 20 ms, with Run running until the test
// ends; opts change its options first.
func Reloader(tb testing.TB, s jobs.RegistryStore, reg *occupancy.Registry, opts ...func(*jobs.ReloaderOptions)) *jobs.Reloader {
	tb.Helper()
	o := jobs.ReloaderOptions{Store: s, Registry: reg, FollowInterval: 20 * time.Millisecond, Instance: "test"}
	for _, f := range opts {
		f(&o)
	}
	rl := jobs.NewReloader(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = rl.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return rl
}

// Reload puts next in force through rl, confirming whatever it deletes,
// waits for the job and returns it; it fails the test unless the job is
// done within a minute.
func Reload(tb testing.TB, rl *jobs.Reloader, next *occupancy.Registry) occupancy.ReloadJob {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan, err := rl.Plan(ctx, next)
	if err != nil {
		tb.Fatalf("plan reload: %v", err)
	}
	job, err := rl.Start(ctx, next, plan.Deletes, true)
	if err != nil {
		tb.Fatalf("start reload: %v", err)
	}
	if job, err = rl.Wait(ctx, job.ID); err != nil || job.Status != occupancy.ReloadDone {
		tb.Fatalf("reload job %+v: %v", job, err)
	}
	return job
}
