package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// settleWait bounds how long settle waits for Redis's background work.
const settleWait = 30 * time.Second

// settle lets the machine finish what the previous part left before the
// next is measured: it waits (at most settleWait) for Redis to end any
// append-only-file rewrite or snapshot in progress, then writes every dirty
// page to disk (sync(2)). Without it the flood of (a) and (b), some 100 MB
// of AOF and broker saves, was still being written back during (c) at
// 1000 msg/s, and Mosquitto, whose saves are synchronous, stopped its
// deliveries for up to 95 ms at a time (docs/benchmarks.md). A town at a
// steady 1000 msg/s has no such flood behind it. -settle=false turns it off.
func (b *bench) settle(ctx context.Context, before string) {
	if !b.f.settle {
		return
	}
	t0 := time.Now()
	var seen string // the last background work seen
	for ctx.Err() == nil && time.Since(t0) < settleWait {
		busy := b.redisBusy()
		if busy == "" {
			break
		}
		seen = busy
		time.Sleep(100 * time.Millisecond)
	}
	waited := time.Since(t0)
	t1 := time.Now()
	syscall.Sync()
	msg := fmt.Sprintf("bench: settling before %s: sync took %v", before, time.Since(t1).Round(time.Millisecond))
	if seen != "" {
		msg += fmt.Sprintf(", after %v waiting for Redis's %s", waited.Round(100*time.Millisecond), seen)
	}
	b.progress("%s", msg)
}

// redisBusy names the background work Redis is doing (INFO persistence), or
// "" if none or it cannot tell.
func (b *bench) redisBusy() string {
	for _, f := range []struct{ field, what string }{
		{"aof_rewrite_in_progress", "AOF rewrite"}, {"aof_rewrite_scheduled", "scheduled AOF rewrite"},
		{"rdb_bgsave_in_progress", "snapshot"},
	} {
		if b.persistenceInfo(f.field) > 0 {
			return f.what
		}
	}
	return ""
}

// aofRewrites is how many times Redis has rewritten its append-only file
// since it started (INFO persistence), or -1 if it cannot tell. A rewrite
// forks Redis and writes the whole dataset: on 2 cores it slows everything
// for a few hundred milliseconds, and at the bench's rates Redis starts one
// every 64 MB of growth (configs/redis.conf), every 30-60 s.
func (b *bench) aofRewrites() int64 { return b.persistenceInfo("aof_rewrites") }

// persistenceInfo returns an integer field of INFO persistence, or -1 if
// it cannot tell.
func (b *bench) persistenceInfo(field string) int64 {
	info, err := b.rdb.Info(context.Background(), "persistence").Result()
	if err != nil {
		return -1
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}
