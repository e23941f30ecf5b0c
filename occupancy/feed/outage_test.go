package feed_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// heldSource is a Source whose calls wait while it is held, and that
// counts the reads that failed.
type heldSource struct {
	feed.Source
	mu    sync.Mutex
	cond  *sync.Cond
	held  bool
	busy  int // calls under way
	fails int
}

func newHeldSource(src feed.Source) *heldSource {
	h := &heldSource{Source: src}
	h.cond = sync.NewCond(&h.mu)
	return h
}

func (h *heldSource) enter() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.held {
		h.cond.Wait()
	}
	h.busy++
}

func (h *heldSource) leave(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busy--
	if err != nil {
		h.fails++
	}
	h.cond.Broadcast()
}

func (h *heldSource) failures() int { h.mu.Lock(); defer h.mu.Unlock(); return h.fails }

// hold makes the next calls wait, and returns when none is under way.
func (h *heldSource) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = true
	for h.busy > 0 {
		h.cond.Wait()
	}
}

func (h *heldSource) release() { h.mu.Lock(); defer h.mu.Unlock(); h.held = false; h.cond.Broadcast() }

func (h *heldSource) ReadEvents(ctx context.Context, c *occupancy.EventCursor, max int64, block time.Duration) ([]occupancy.Event, []string, error) {
	h.enter()
	evs, gaps, err := h.Source.ReadEvents(ctx, c, max, block)
	h.leave(err)
	return evs, gaps, err
}

func (h *heldSource) TrimmedZones(ctx context.Context, c *occupancy.EventCursor) ([]string, error) {
	h.enter()
	gaps, err := h.Source.TrimmedZones(ctx, c)
	h.leave(err)
	return gaps, err
}

// TestTailerSurvivesARedisRestart: while Redis is down the tailer keeps its
// position and logs the outage once, however many reads fail; when Redis
// is back it checks every zone for a gap (zone A's stream was emptied
// meanwhile), logs the recovery and goes on.
func TestTailerSurvivesARedisRestart(t *testing.T) {
	ctx := context.Background()
	rds := testenv.MustStartRedis(t)
	rdb := rds.Client(t)
	s := storetest.NewStore(t, rdb, storetest.Registry(t), storetest.NewClock(storetest.T0).Now)
	src, rec, l := newHeldSource(s), &recorder{}, &logs{}
	runTailer(t, feed.TailerOptions{Source: src, Sinks: []feed.Sink{rec}, Logger: slog.New(l)})
	t.Cleanup(src.release) // before the tailer's stop
	rec.waitBatches(t, 1)
	flip(t, s, "S1", 0, 1)
	rec.waitEvents(t, 2)

	rds.Stop(t)
	storetest.Eventually(t, 10*time.Second, func() string {
		if n := src.failures(); n < 2 {
			return fmt.Sprintf("%d reads failed while Redis is down, want 2", n)
		}
		return ""
	})
	src.hold() // the tailer's next read waits until A is trimmed and changed
	rds.Start(t)
	if err := rdb.XTrimMaxLen(ctx, "pk:{A}:ev", 0).Err(); err != nil {
		t.Fatal(err)
	}
	flip(t, s, "S2", 0, 1)
	flip(t, s, "S5", 0, 1)
	src.release()

	rec.waitEvents(t, 6)
	batches := rec.got()
	last := batches[len(batches)-1]
	for _, b := range batches {
		if len(b.Events) > 0 {
			last = b
		}
	}
	if got := strings.Join(lines(last.Events), ", "); !slices.Equal(last.Gaps, []string{"A"}) || !strings.Contains(got, "A-2 free") || !strings.Contains(got, "B-1 free") {
		t.Errorf("after the restart a batch of gaps %v and events %s, want gap A and A-2's and B-1's events", last.Gaps, got)
	}
	want := []string{"WARN reading the change streams failed; retrying with backoff", "INFO reading the change streams again gaps=1"}
	if got := l.got(); !slices.Equal(got, want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}

// TestTailerBlocksWhileIdle: on a redis-server the tailer waits in Redis
// for changes (XREAD BLOCK) rather than polling: idle, it sends about one
// read per Block, and its sinks hear that nothing happened as often.
func TestTailerBlocksWhileIdle(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.MustStartRedis(t).Client(t)
	s := storetest.NewStore(t, rdb, storetest.Registry(t), storetest.NewClock(storetest.T0).Now)
	rec := &recorder{}
	runTailer(t, feed.TailerOptions{Source: s, Sinks: []feed.Sink{rec}, Block: 500 * time.Millisecond})
	rec.waitBatches(t, 1)
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := len(rec.got())
	time.Sleep(2 * time.Second) // the behaviour under test: what the tailer sends Redis while nothing happens
	heard := len(rec.got()) - before
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	reads := commandCalls(info, "xread")
	if reads < 1 || reads > 8 {
		t.Errorf("%d XREADs in an idle 2s with Block 500ms, want a handful (about 4):\n%s", reads, info)
	}
	if heard < 1 {
		t.Errorf("the sink heard %d batches in an idle 2s, want at least one (nothing happened)", heard)
	}
}

// commandCalls returns the calls of cmd in INFO commandstats.
func commandCalls(info, cmd string) int {
	for line := range strings.SplitSeq(info, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}

// partial is a Source whose first read takes events and then fails, as the
// store's ReadEvents does when its gap check fails: its cursor has moved
// past them.
type partial struct {
	mu    sync.Mutex
	reads int
}

func (*partial) EventsNow(context.Context) (*occupancy.EventCursor, error) {
	return occupancy.NewEventCursor(occupancy.StartPosition), nil
}

func (p *partial) ReadEvents(_ context.Context, c *occupancy.EventCursor, _ int64, _ time.Duration) ([]occupancy.Event, []string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reads++; p.reads > 1 {
		return nil, nil, nil
	}
	c.Set("A", "5-0")
	evs := []occupancy.Event{{ID: "5-0@A", Type: occupancy.EventSpace, ZoneID: "A", SpaceID: "A-1", Status: "free"}}
	return evs, nil, fmt.Errorf("check event streams for gaps: %w", errDown)
}

func (*partial) TrimmedZones(context.Context, *occupancy.EventCursor) ([]string, error) {
	return nil, nil
}
func (*partial) CanBlock() bool { return false }

// TestTailerDeliversWhatAFailedReadTook: a read that fails after it moved
// the cursor past events (the store's gap check failed) still has them
// delivered, with their zones as gaps (whether entries were lost before
// them is not known), rather than lost.
func TestTailerDeliversWhatAFailedReadTook(t *testing.T) {
	rec := &recorder{}
	runTailer(t, feed.TailerOptions{Source: &partial{}, Sinks: []feed.Sink{rec}})
	rec.waitEvents(t, 1)
	for _, b := range rec.got() {
		if len(b.Events) > 0 && (!slices.Equal(b.Gaps, []string{"A"}) || b.ReadAt.IsZero()) {
			t.Errorf("the failed read's batch: gaps %v, read at %s; want gap A and a time", b.Gaps, b.ReadAt)
		}
	}
	if got := rec.lines(); !slices.Equal(got, []string{"5-0@A space A-1 free"}) {
		t.Errorf("delivered %v, want A-1's event once", got)
	}
}
