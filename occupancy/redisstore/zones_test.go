package redisstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
)

// slowPipelines is a go-redis hook that counts pipelines and makes each
// take at least delay, so that calls made meanwhile overlap it for sure.
type slowPipelines struct {
	n     atomic.Int64
	delay time.Duration
}

func (h *slowPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *slowPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *slowPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		time.Sleep(h.delay)
		return next(ctx, cmds)
	}
}

// TestZonesCallsShareARead checks that calls of Zones at the same time
// share one read of Redis, that each gets the right counters as a slice of
// its own, and that a call after a write sees the write.
func TestZonesCallsShareARead(t *testing.T) {
	rdb := storetest.Backends[0].Start(t).(*redis.Client)
	clk := &clock{now: t0}
	s := newStore(t, rdb, clk)
	mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
	hook := &slowPipelines{delay: 50 * time.Millisecond}
	rdb.AddHook(hook)

	const calls = 32
	var wg sync.WaitGroup
	results := make([][]occupancy.ZoneState, calls)
	start := make(chan struct{})
	for i := range calls {
		wg.Go(func() {
			<-start
			zs, err := s.Zones(context.Background())
			if err != nil {
				t.Error(err)
			}
			results[i] = zs
		})
	}
	close(start)
	wg.Wait()
	if n := hook.n.Load(); n >= calls/2 {
		t.Errorf("%d calls at once made %d reads, want them to share", calls, n)
	}
	for i, zs := range results {
		if len(zs) != 2 || zs[0].ZoneID != "A" || zs[0].Counts.Free != 1 || zs[0].Counts.Unknown != 3 {
			t.Fatalf("call %d got %+v, want zone A with 1 free and 3 unknown first", i, zs)
		}
	}
	results[0][0].Counts.Free = 99
	if results[1][0].Counts.Free != 1 {
		t.Errorf("the calls share one slice: a change to one answer shows in another")
	}

	mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied)
	zs, err := s.Zones(context.Background())
	if err != nil || zs[0].Counts.Free != 2 {
		t.Errorf("after a second space became free: zone A %+v, %v; want 2 free", zs[0].Counts, err)
	}
}

// TestZonesCallLeavesWhenItsContextEnds: a call whose request is cancelled
// returns at once, while the read it shared goes on for the others.
func TestZonesCallLeavesWhenItsContextEnds(t *testing.T) {
	rdb := storetest.Backends[0].Start(t).(*redis.Client)
	s := newStore(t, rdb, &clock{now: t0})
	rdb.AddHook(&slowPipelines{delay: 300 * time.Millisecond})
	other := make(chan error, 1)
	go func() {
		_, err := s.Zones(context.Background())
		other <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if _, err := s.Zones(ctx); err == nil {
		t.Fatal("Zones with a context that ended: no error")
	}
	if took := time.Since(begin); took > 200*time.Millisecond {
		t.Errorf("Zones returned %v after its context ended at 20 ms", took)
	}
	if err := <-other; err != nil {
		t.Errorf("the other call failed: %v", err)
	}
}
