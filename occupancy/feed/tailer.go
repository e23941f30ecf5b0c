package feed

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/qiuai/parking/internal/retry"
	"github.com/qiuai/parking/occupancy"
)

// TailerOptions configure a Tailer.
type TailerOptions struct {
	// Source is read. Required.
	Source Source
	// Sinks receive every batch, in this order. Default none.
	Sinks []Sink
	// Block is how long one read waits for an event when none is there:
	// a sink hears that nothing happened at least this often. Default 1s.
	Block time.Duration
	// Poll makes the Tailer poll instead of blocking: read without
	// waiting, then pause Pause. Set it for a backend whose blocking reads
	// stall other clients (the demo's miniredis stalls every script while
	// one XREAD blocks). A Source that cannot block (a Redis Cluster) is
	// polled anyway. Default false.
	Poll bool
	// Pause is the pause after a read that found events, so that a flood
	// of changes is read in batches rather than one read per entry; when
	// polling, the pause after every read. Default 10ms.
	Pause time.Duration
	// MaxRead is about the most entries one read takes from all the zones
	// together (each zone's share at least 1, at most PerZone), so a
	// backlog at city scale is read in several replies, not one of
	// hundreds of MB. Default 20000.
	MaxRead int
	// PerZone caps the entries one read takes from one zone. Default 1000.
	PerZone int64
	// Zones is how many zones the streams are (to share MaxRead). Default 1.
	Zones int
	// Logger receives outages and recoveries. Default: discard.
	Logger *slog.Logger
	// Now is the clock of Batch.ReadAt. Default time.Now.
	Now func() time.Time
}

func (o *TailerOptions) ensureDefaults() {
	if o.Block <= 0 {
		o.Block = time.Second
	}
	if o.Pause <= 0 {
		o.Pause = 10 * time.Millisecond
	}
	if o.MaxRead <= 0 {
		o.MaxRead = 20000
	}
	if o.PerZone <= 0 {
		o.PerZone = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// A Tailer reads every zone's change stream from the moment it starts and
// delivers what it reads to its sinks. One runs per process.
type Tailer struct {
	opts TailerOptions
	log  *slog.Logger
}

// NewTailer returns a Tailer; Run starts it. It panics without a Source (a
// wiring bug).
func NewTailer(opts TailerOptions) *Tailer {
	if opts.Source == nil {
		panic("feed: TailerOptions.Source is required")
	}
	opts.ensureDefaults()
	return &Tailer{opts: opts, log: opts.Logger.With("component", "feed")}
}

// Run reads the streams from their ends and delivers every read to the
// sinks until ctx is done. While the Source fails it retries with backoff
// (logging the outage once and the recovery), and after an outage it has
// every zone checked for a gap before it goes on. It returns nil when ctx
// is done.
func (t *Tailer) Run(ctx context.Context) error {
	wait := retry.Backoff(100*time.Millisecond, 5*time.Second)
	var cur *occupancy.EventCursor
	failing := false
	lastRead := t.opts.Now()
	for ctx.Err() == nil {
		// A read long after the last one (a sink held the feed, the process
		// was paused) may find streams trimmed past the cursor without a
		// full read to show it: every zone is checked, as after an outage.
		stalled := t.opts.Now().Sub(lastRead) > stallCheck
		b, err := t.read(ctx, &cur, failing || stalled)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if !failing {
				t.log.Warn("reading the change streams failed; retrying with backoff", "err", err)
			}
			failing = true
			if len(b.Events) > 0 { // read before the failure: the cursor is past them
				t.deliver(ctx, b)
			}
			sleep(ctx, wait.NextBackOff())
			continue
		}
		lastRead = t.opts.Now()
		if failing {
			t.log.Info("reading the change streams again", "gaps", len(b.Gaps))
			failing = false
			wait.Reset()
		}
		t.deliver(ctx, b)
		if t.polling() || len(b.Events) > 0 {
			sleep(ctx, t.opts.Pause)
		}
	}
	return nil
}

// stallCheck is how long after the last read a read checks every zone for
// a gap: far below the streams' hour of history, far above a slow sink.
const stallCheck = time.Minute

// read makes one read: from the streams' ends the first time, and after an
// outage with every zone checked for a gap.
func (t *Tailer) read(ctx context.Context, cur **occupancy.EventCursor, recovering bool) (Batch, error) {
	src := t.opts.Source
	if *cur == nil {
		c, err := src.EventsNow(ctx)
		if err != nil {
			return Batch{}, err
		}
		*cur = c
	}
	var b Batch
	if recovering {
		gaps, err := src.TrimmedZones(ctx, *cur)
		if err != nil {
			return Batch{}, err
		}
		b.Gaps = gaps
	}
	block := t.opts.Block
	if t.polling() {
		block = 0
	}
	evs, gaps, err := src.ReadEvents(ctx, *cur, t.perZone(), block)
	if err != nil && len(evs) == 0 {
		return Batch{}, err
	}
	if err != nil {
		// The read moved the cursor past evs before its gap check failed:
		// they are delivered, their zones as gaps (whether entries before
		// them were trimmed is not known).
		gaps = zonesOf(evs)
	}
	b.Events, b.Gaps, b.ReadAt = evs, append(b.Gaps, gaps...), t.opts.Now()
	return b, err
}

// deliver hands b to every sink, in order.
func (t *Tailer) deliver(ctx context.Context, b Batch) {
	for _, s := range t.opts.Sinks {
		s.Deliver(ctx, b)
	}
}

// zonesOf returns the zones of evs, each once, in order of appearance.
func zonesOf(evs []occupancy.Event) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range evs {
		if !seen[e.ZoneID] {
			seen[e.ZoneID] = true
			out = append(out, e.ZoneID)
		}
	}
	return out
}

// polling reports whether reads answer at once (Poll, or a Source that
// cannot block).
func (t *Tailer) polling() bool { return t.opts.Poll || !t.opts.Source.CanBlock() }

// perZone is how many entries one read takes from each zone's stream:
// MaxRead shared among the zones, at most PerZone and at least 1. XREAD's
// COUNT is per stream: with a fixed 1000, the first read after a million
// readings at city scale (2 860 zones) would take all of them in one reply
// of about 100 MB.
func (t *Tailer) perZone() int64 { return ShareCount(t.opts.MaxRead, t.opts.PerZone, t.opts.Zones) }

// ShareCount is the COUNT of a read of n streams that takes about total
// entries in all: total shared among them, at most perStream and at least 1.
func ShareCount(total int, perStream int64, n int) int64 {
	return min(perStream, int64(max(1, total/max(n, 1))))
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
