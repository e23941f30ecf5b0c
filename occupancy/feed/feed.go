// Package feed is the live feed of changes: one Tailer per process reads
// the zones' change streams and hands each batch to the parts that follow
// them, the read model (occupancy/readmodel) and the Hub, which fans the
// events out to the SSE clients. Redis sees one reader per process however
// many views and clients follow it.
package feed

import (
	"context"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Source is what the Tailer reads: the zones' change streams.
// *redisstore.Store implements it.
type Source interface {
	// EventsNow returns a cursor at the end of every zone's stream.
	EventsNow(ctx context.Context) (*occupancy.EventCursor, error)
	// ReadEvents returns the events after c, oldest first per zone, at
	// most max entries per zone, and moves c past them; with block > 0 it
	// waits up to block for one when none is there (if CanBlock). gaps are
	// the zones whose stream was trimmed past c's position.
	ReadEvents(ctx context.Context, c *occupancy.EventCursor, max int64, block time.Duration) (evs []occupancy.Event, gaps []string, err error)
	// TrimmedZones returns the zones whose stream was trimmed past c's
	// position.
	TrimmedZones(ctx context.Context, c *occupancy.EventCursor) ([]string, error)
	// CanBlock reports whether ReadEvents can wait for events.
	CanBlock() bool
}

// Batch is what one read of the streams found.
type Batch struct {
	// Events are the events read, each zone's in stream order; the events
	// of one stored entry come together. Shared by every sink: do not
	// modify them.
	Events []occupancy.Event
	// Gaps are the zones whose stream was trimmed past the reader's
	// position: events of theirs were lost to the reader, so a view of
	// them must be read again whole.
	Gaps []string
	// ReadAt is when Redis answered the read: a sink that has applied the
	// batch is current as of then.
	ReadAt time.Time
}

// A Sink takes the Tailer's batches, one at a time, in the order read. It
// is called on the Tailer's goroutine, also with batches without events
// (every read, at least every TailerOptions.Block): the reader is alive.
// A sink that does Redis round trips delays the others; the Hub never
// waits.
type Sink interface {
	Deliver(ctx context.Context, b Batch)
}
