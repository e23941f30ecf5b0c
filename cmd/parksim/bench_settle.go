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
// page to disk (sync(2)). The flood of (a) and (b) writes some 100 MB of
// AOF and broker saves; a rewrite it started, or pages it left to write
// back, would otherwise fall into (c), whereas a town at a steady 1000
// msg/s has no such flood behind it. (In the recorded runs the sync took
// 1-4 ms: little was left, and (c)'s tails after the flood have another
// cause, docs/benchmarks.md.) -settle=false turns it off.
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
	info := b.persistenceInfo()
	for _, f := range []struct{ field, what string }{
		{"aof_rewrite_in_progress", "AOF rewrite"}, {"aof_rewrite_scheduled", "scheduled AOF rewrite"},
		{"rdb_bgsave_in_progress", "snapshot"},
	} {
		if info[f.field] > 0 {
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
func (b *bench) aofRewrites() int64 {
	if n, ok := b.persistenceInfo()["aof_rewrites"]; ok {
		return n
	}
	return -1
}

// persistenceInfo returns the integer fields of INFO persistence (one
// round trip), or nil if Redis does not answer.
func (b *bench) persistenceInfo() map[string]int64 {
	info, err := b.rdb.Info(context.Background(), "persistence").Result()
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = n
			}
		}
	}
	return out
}
