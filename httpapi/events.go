package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// EventSource reads the live feed. *redisstore.Store implements it; a Store
// without it answers GET /api/v1/events with 404.
type EventSource interface {
	// EventsNow returns a cursor at the end of the feed.
	EventsNow(ctx context.Context) (*redisstore.EventCursor, error)
	// EventsAfter returns the cursor just after the event id last;
	// EINVALID when last is not an event id.
	EventsAfter(last string) (*redisstore.EventCursor, error)
	// ReadEvents returns the events after c, oldest first, and moves c.
	ReadEvents(ctx context.Context, c *redisstore.EventCursor, max int64) ([]occupancy.Event, error)
}

var _ EventSource = (*redisstore.Store)(nil)

// EventSubscriber shares one reader of the feed among the streams.
// redisstore.HubStore implements it; a store without it has each stream
// poll Redis itself.
type EventSubscriber interface {
	// SubscribeEvents returns a subscription to the events read from now
	// on, or nil when the shared reader is not running.
	SubscribeEvents(ctx context.Context) *redisstore.EventSub
}

var _ EventSubscriber = redisstore.HubStore{}

// The feed's timing: how often a stream without a shared reader polls Redis
// (so a change reaches a client within about this long), how often an idle
// stream sends a comment (so proxies and clients see it alive), and how
// many entries per zone one read takes (a poll, or a step of a catch-up).
const (
	eventPoll      = 200 * time.Millisecond
	eventKeepAlive = 15 * time.Second
	eventBatch     = 500
)

// events answers GET /api/v1/events with Server-Sent Events: space, zone
// and incident events (incidents only for a caller with a staff token), each
// with its id. A client resumes after a disconnect by sending the last id it
// saw as the Last-Event-ID header (browsers' EventSource does that by
// itself) or the last_event_id query parameter; without either it gets the
// events from now on. With a shared reader (EventSubscriber) the stream
// catches up from Redis and then follows that reader (follow); without one
// it polls Redis itself (stream). The stream lifts the server's write
// timeout for itself and ends when the client goes or the server shuts
// down, and, with a shared reader, when the client does not keep up.
func (h *handler) events(c *gin.Context) {
	src, ok := h.store.(EventSource)
	if !ok {
		fail(c, occupancy.Errorf(occupancy.ENOTFOUND, "this store has no event feed"))
		return
	}
	cur, err := h.eventCursor(c, src)
	if err != nil {
		fail(c, err)
		return
	}
	if err := http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{}); err != nil {
		h.log.Warn("events: cannot lift the write deadline", "err", err)
	}
	w := c.Writer
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "retry: 1000\n\n")
	w.Flush()
	staff := callerRole(c) != ""
	if sub, ok := h.store.(EventSubscriber); ok {
		if live := sub.SubscribeEvents(c.Request.Context()); live != nil {
			defer live.Close()
			h.follow(c, src, cur, live, staff)
			return
		}
	}
	h.stream(c, src, cur, staff)
}

// eventCursor is where the client resumes: after its Last-Event-ID (header
// first, then the last_event_id parameter), or now.
func (h *handler) eventCursor(c *gin.Context, src EventSource) (*redisstore.EventCursor, error) {
	last := c.GetHeader("Last-Event-ID")
	if last == "" {
		q, _, err := param(c.Request.URL.Query(), "last_event_id")
		if err != nil {
			return nil, err
		}
		last = q
	}
	if last != "" {
		return src.EventsAfter(truncate(last, 200))
	}
	return src.EventsNow(c.Request.Context())
}

// stream polls the feed and writes its events until the client or the
// server goes.
func (h *handler) stream(c *gin.Context, src EventSource, cur *redisstore.EventCursor, staff bool) {
	ctx := c.Request.Context()
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
			_, _ = fmt.Fprint(c.Writer, ": keep-alive\n\n")
		case <-poll.C:
			evs, err := src.ReadEvents(ctx, cur, eventBatch)
			if err != nil {
				h.log.Warn("events: read failed", "err", err)
				continue // Redis may come back; the cursor has not moved
			}
			if len(evs) > 0 {
				writeEvents(c.Writer, evs, staff)
			}
			continue
		}
		c.Writer.Flush()
	}
}

// follow catches up from the client's cursor with its own reads of Redis,
// then writes the shared reader's batches, less what the catch-up read,
// until the client or the server goes. live was subscribed before the
// catch-up starts, so nothing falls between the two. It ends the stream,
// too, when live is dropped (the client did not keep up) or its reader
// stops: the client reconnects with its last id and misses nothing.
func (h *handler) follow(c *gin.Context, src EventSource, cur *redisstore.EventCursor, live *redisstore.EventSub, staff bool) {
	ctx := c.Request.Context()
	for {
		evs, err := src.ReadEvents(ctx, cur, eventBatch)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("events: catch-up read failed", "err", err)
			}
			return // the client reconnects from the last id it got
		}
		if len(evs) == 0 {
			break
		}
		writeEvents(c.Writer, evs, staff)
	}
	alive := time.NewTicker(eventKeepAlive)
	defer alive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-shuttingDown(ctx):
			return
		case <-alive.C:
			_, _ = fmt.Fprint(c.Writer, ": keep-alive\n\n")
		case evs, ok := <-live.Events():
			if !ok {
				if live.Overflowed() {
					h.log.Info("events: client too slow, stream ended for it to resume")
				}
				return
			}
			writeEvents(c.Writer, cur.Unseen(evs), staff)
			continue
		}
		c.Writer.Flush()
	}
}

// writeEvents writes evs, leaving out incidents unless the caller is staff,
// and flushes.
func writeEvents(w gin.ResponseWriter, evs []occupancy.Event, staff bool) {
	for _, e := range evs {
		if e.Type == occupancy.EventIncident && !staff {
			continue
		}
		writeEvent(w, e)
	}
	w.Flush()
}

// writeEvent writes e as one SSE message: id, event (its type) and data
// (the event as JSON, on one line).
func writeEvent(w gin.ResponseWriter, e occupancy.Event) {
	e.Time = e.Time.UTC()
	data, err := json.Marshal(e)
	if err != nil {
		return
	}
	_, _ = fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
}
