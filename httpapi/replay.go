package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/occupancy"
)

// Bounded replay. A stream that resumes from a Last-Event-ID replays what
// followed it, from Redis. That history is bounded: an id from before the
// replay window (older than Options.EventReplayWindow against the feed's
// newest event), one the feed does not hold (ahead of its zone's newest
// event: forged, or of a Redis that lost its data), one whose zone's
// stream was trimmed past it, or a replay that grows past
// Options.EventReplayMax events or finds a zone's stream trimmed past its
// position, gets a reset event instead: the client
// reloads its view (GET /api/v1/map, /api/v1/zones…) and applies the
// events that follow, and the stream goes on from now. A client cannot
// have megabytes of history replayed to it (last_event_id=0-0@Z01 would
// otherwise replay a whole zone's stream), and one away for long reloads
// once rather than replaying every change it missed.

// replayBounds are the bounds of a resume's replay.
type replayBounds struct {
	window time.Duration // how far behind the feed's newest event a resume may start
	max    int           // events a catch-up may write before a reset
	resets prometheus.Counter
}

// streamStart is where a new stream starts.
type streamStart struct {
	cur *occupancy.EventCursor
	// end is the feed's end when the stream starts, read after it
	// subscribed to the shared reader: its catch-up reads up to there, and
	// the shared reader delivers what follows.
	end   *occupancy.EventCursor
	reset string // why the stream starts with a reset event; "" if it does not
}

// eventStart reads where the stream of c starts, within StoreTimeout: now,
// after the client's Last-Event-ID, or now with a reset when that id is
// past the replay bound. EINVALID for a malformed id.
func (h *handler) eventStart(c *gin.Context, src EventSource) (streamStart, error) {
	last, err := lastEventID(c)
	if err != nil {
		return streamStart{}, err
	}
	var cur *occupancy.EventCursor
	if last != "" {
		if cur, err = src.EventsAfter(last); err != nil {
			return streamStart{}, err
		}
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), h.storeWait)
	defer cancel()
	now, err := src.EventsNow(ctx)
	if err != nil || cur == nil {
		return streamStart{cur: now, end: now}, err
	}
	why, err := h.replay.beyond(ctx, src, last, cur, now)
	if err != nil {
		return streamStart{}, err
	}
	if why != "" {
		return streamStart{cur: now, end: now, reset: why}, nil
	}
	return streamStart{cur: cur, end: now}, nil
}

// beyond says why a resume after the event id last (cursor cur) is past
// the replay bound, given the feed's end now, or "" if it is not.
func (b replayBounds) beyond(ctx context.Context, src EventSource, last string, cur, now *occupancy.EventCursor) (string, error) {
	pos, zone, _ := occupancy.SplitEventID(last)
	if occupancy.ComparePositions(pos, now.Pos(zone)) > 0 {
		return "the last event id is not in the feed", nil
	}
	if age := occupancy.PositionTime(now.Newest()).Sub(occupancy.PositionTime(pos)); age > b.window {
		return fmt.Sprintf("the last event id is more than %s older than the feed's newest event", b.window), nil
	}
	// The id's own zone only: the other zones' positions are the window
	// before its time, and a stream that begins after them may just have
	// had nothing then (a catch-up read that finds one trimmed resets).
	own := occupancy.NewEventCursor(occupancy.StartPosition)
	own.Set(zone, pos)
	gaps, err := src.TrimmedZones(ctx, own)
	if err != nil {
		return "", err
	}
	if len(gaps) > 0 {
		return "the feed no longer holds the events after the last event id", nil
	}
	return "", nil
}

// catchUp writes the events from cur up to end (the feed's end when the
// stream started: what follows comes from the shared reader, or the
// stream's polls; a catch-up that read on until the feed is empty would
// chase a busy feed for as long as changes keep coming), and returns the
// cursor to go on from (cur, or the feed's end after a reset) and whether
// the stream goes on. A catch-up that would write more than the replay
// bound's events, or finds a stream trimmed past its position (events
// lost to it), sends a reset and goes on from the feed's end.
func (h *handler) catchUp(ctx context.Context, src EventSource, cur, end *occupancy.EventCursor, out *sseOut) (*occupancy.EventCursor, bool) {
	written := 0
	for !cur.Reached(end) {
		evs, gaps, err := src.ReadEvents(ctx, cur, eventBatch, 0)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("events: catch-up read failed", "err", err)
			}
			return nil, false // the client reconnects from the last id it got
		}
		if len(evs) == 0 {
			return cur, true
		}
		written += len(evs)
		if written > h.replay.max || len(gaps) > 0 {
			if cur, err = src.EventsNow(ctx); err != nil {
				return nil, false
			}
			why := fmt.Sprintf("the replay is longer than %d events", h.replay.max)
			if len(gaps) > 0 {
				why = "the feed no longer holds every event after the last event id"
			}
			if h.sendReset(out, cur, why) != nil {
				return nil, false
			}
			return cur, true
		}
		if out.events(evs) != nil {
			return nil, false
		}
	}
	return cur, true
}

// resetJSON is the data of a reset event.
type resetJSON struct {
	Type   string   `json:"type"` // reset
	Time   jsonTime `json:"time"`
	Reason string   `json:"reason"`
}

// sendReset writes a reset event: the client's view may lack changes, and
// it must read it again, then apply the events that follow. Its SSE id is
// the newest event's at now, so a client that reconnects after it resumes
// from there, not from before the reset.
func (h *handler) sendReset(out *sseOut, now *occupancy.EventCursor, why string) error {
	h.replay.resets.Inc()
	data, _ := json.Marshal(resetJSON{Type: "reset", Time: jsonTime(h.now()), Reason: why + "; read the state again"})
	id := now.Newest()
	return out.send(func() error {
		if id != "" {
			if _, err := fmt.Fprintf(out.w, "id: %s\n", id); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(out.w, "event: reset\ndata: %s\n\n", data)
		return err
	})
}
