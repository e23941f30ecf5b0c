package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// EventSource reads the live feed from the store. *redisstore.Store
// implements it; without one (Options.Events nil) GET /api/v1/events
// answers 404.
type EventSource interface {
	// EventsNow returns a cursor at the end of the feed.
	EventsNow(ctx context.Context) (*occupancy.EventCursor, error)
	// EventsAfter returns the cursor just after the event id last;
	// EINVALID when last is not an event id.
	EventsAfter(last string) (*occupancy.EventCursor, error)
	// ReadEvents returns the events after c, oldest first, and moves c;
	// block 0 answers at once.
	ReadEvents(ctx context.Context, c *occupancy.EventCursor, max int64, block time.Duration) ([]occupancy.Event, []string, error)
	// TrimmedZones returns the zones whose stream was trimmed past c's
	// position: events after c are gone from them.
	TrimmedZones(ctx context.Context, c *occupancy.EventCursor) ([]string, error)
}

// EventSubscriber shares the process's one reader of the feed among the
// streams. *feed.Hub implements it; without one (Options.Hub nil) each
// stream polls the store itself.
type EventSubscriber interface {
	// Subscribe returns a subscription to the events read from now on, or
	// nil when the shared reader is not running.
	Subscribe() *feed.Sub
}

// The feed's timing: how often a stream without a shared reader polls Redis
// (so a change reaches a client within about this long), how often a
// stream following the shared reader writes at most, how often an idle
// stream sends a comment (so proxies and clients see it alive), and how
// many entries per zone one read takes (a poll, or a step of a catch-up).
const (
	eventPoll       = 200 * time.Millisecond
	eventWriteEvery = 250 * time.Millisecond
	eventKeepAlive  = 15 * time.Second
	eventBatch      = 500
)

// events answers GET /api/v1/events with Server-Sent Events: space, zone
// and incident events (incidents only for a caller with a staff token), each
// with its id. A client resumes after a disconnect by sending the last id it
// saw as the Last-Event-ID header (browsers' EventSource does that by
// itself) or the last_event_id query parameter; without either it gets the
// events from now on. A resume replays a bounded history (replay.go): past
// the bound the stream starts with a reset event and goes on from now. The
// streams open at once are limited (streams.go). With a shared reader
// (EventSubscriber) the stream catches up from Redis and then follows that
// reader (follow); without one it polls Redis itself (stream). Where the
// stream starts is read from Redis within StoreTimeout, before answering:
// with Redis sick the answer is 503 unavailable, not an empty stream. Each
// write of the stream has a deadline of its own (Options.EventWriteTimeout)
// instead of the server's write timeout. The stream ends when the client
// goes, stops reading (a write misses its deadline) or the server shuts
// down, and, with a shared reader, when the client does not keep up.
func (h *handler) events(c *gin.Context) {
	src := h.feed
	if src == nil {
		fail(c, missing("event feed"))
		return
	}
	release, err := h.streams.acquire(c)
	if err != nil {
		fail(c, err)
		return
	}
	defer release()
	var live *feed.Sub // subscribed before the start is read: nothing falls between
	if h.hub != nil {
		if live = h.hub.Subscribe(); live != nil {
			defer live.Close()
		}
	}
	st, err := h.eventStart(c, src)
	if err != nil {
		fail(c, err)
		return
	}
	w := c.Writer
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sseOut{ctx: c.Request.Context(), w: w, rc: http.NewResponseController(w), timeout: h.eventWriteTimeout,
		staff: callerRole(c) != "", joins: &h.joins, turns: h.writeTurns}
	if err := out.comment("retry: 1000"); err != nil {
		return
	}
	if st.reset != "" && h.sendReset(out, st.cur, st.reset) != nil {
		return
	}
	if live != nil {
		h.follow(c, src, st, live, out)
		return
	}
	h.stream(c, src, st, out)
}

// lastEventID is the id the client resumes after: the Last-Event-ID
// header, else the last_event_id parameter, else "".
func lastEventID(c *gin.Context) (string, error) {
	if last := c.GetHeader("Last-Event-ID"); last != "" {
		return truncate(last, 200), nil
	}
	q, _, err := param(c.Request.URL.Query(), "last_event_id")
	return truncate(q, 200), err
}

// stream catches up from the client's cursor, then polls the feed and
// writes its events until the client or the server goes.
func (h *handler) stream(c *gin.Context, src EventSource, st streamStart, out *sseOut) {
	ctx := c.Request.Context()
	cur, ok := h.catchUp(ctx, src, st.cur, st.end, out)
	if !ok {
		return
	}
	poll, alive := time.NewTicker(eventPoll), time.NewTicker(eventKeepAlive)
	defer poll.Stop()
	defer alive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-shuttingDown(ctx):
			return
		case <-alive.C:
			if out.comment(": keep-alive") != nil {
				return
			}
		case <-poll.C:
			evs, _, err := src.ReadEvents(ctx, cur, eventBatch, 0)
			if err != nil {
				h.log.Warn("events: read failed", "err", err)
				continue // Redis may come back; the cursor has not moved
			}
			if len(evs) > 0 && out.events(evs) != nil {
				return
			}
		}
	}
}

// follow catches up from the client's cursor with its own reads of Redis,
// then writes the shared reader's deliveries, less what the catch-up
// read, until the client or the server goes. live was subscribed before
// the catch-up starts, so nothing falls between the two. A stream writes
// at most every eventWriteEvery: a delivery after a quiet spell goes out at
// once, those that come within the interval after a write together at its
// end, so that with thousands of streams open parkd makes a few writes a
// second for each rather than one per read of the feed. It ends the
// stream, too, when live is dropped (the client did not keep up: a write
// that blocks leaves the hub's deliveries waiting) or its reader stops:
// the client reconnects with its last id and misses nothing.
func (h *handler) follow(c *gin.Context, src EventSource, st streamStart, live *feed.Sub, out *sseOut) {
	ctx := c.Request.Context()
	cur, ok := h.catchUp(ctx, src, st.cur, st.end, out)
	if !ok {
		return
	}
	p := &pacer{f: newFollower(cur, out.staff), out: out, due: time.NewTimer(time.Hour)}
	p.due.Stop()
	defer p.due.Stop()
	alive := time.NewTicker(eventKeepAlive)
	defer alive.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-shuttingDown(ctx):
			return
		case <-alive.C:
			err = out.comment(": keep-alive")
		case d, ok := <-live.Deliveries():
			if !ok {
				if live.Overflowed() {
					h.log.Info("events: client too slow, stream ended for it to resume")
				}
				return
			}
			live.Took(d)
			err = p.add(d)
		case <-p.due.C:
			err = p.write()
		}
		if err != nil {
			return
		}
	}
}

// pacer holds a stream's deliveries until its next write is due.
type pacer struct {
	f    *follower
	out  *sseOut
	held []*feed.Delivery
	last time.Time   // of the last write
	due  *time.Timer // armed while deliveries are held
}

// add holds d, and writes at once if the stream has not written for
// eventWriteEvery; otherwise the timer writes when that is over.
func (p *pacer) add(d *feed.Delivery) error {
	if p.held = append(p.held, d); len(p.held) > 1 {
		return nil // the timer is armed
	}
	if wait := time.Until(p.last.Add(eventWriteEvery)); wait > 0 {
		p.due.Reset(wait)
		return nil
	}
	return p.write()
}

// write writes the held deliveries in one write.
func (p *pacer) write() error {
	err := p.out.chunks(p.f.chunks(p.held))
	clear(p.held)
	p.held, p.last = p.held[:0], time.Now()
	return err
}
