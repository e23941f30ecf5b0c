package redisstore

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// An EventHub tails every zone's event stream once for the whole process
// and hands each batch of events to its subscribers (the SSE clients), so
// Redis sees one reader per parkd however many clients listen, instead of
// one per client.
//
// A subscriber first catches up from Redis with its own EventCursor (its
// Last-Event-ID, or now), having subscribed before it starts, and then takes
// the hub's batches through Unseen, which drops what its catch-up already
// read: no gap, no duplicate. Each subscriber has a bounded buffer of
// batches; the hub never waits for one: a subscriber whose buffer is full
// is dropped (its channel closed, Overflowed true), so a slow client cannot
// hold the others back and, reconnecting from its last id, misses nothing.
//
// The hub reads with ReadEvents (non-blocking, as the FreeIndex does, for
// the demo's miniredis: one pipelined XREAD per zone) every Poll, and only
// while it has subscribers: with none it reads nothing and forgets its
// position, and the next Subscribe positions it at the streams' ends
// before it returns (so before the subscriber's catch-up ends).
type EventHub struct {
	s     *Store
	opts  EventHubOptions
	mu    sync.Mutex
	subs  map[*EventSub]struct{}
	cur   *EventCursor // the next read's position; nil while no one listens
	live  bool         // Run is running: subscribing is possible
	drops atomic.Int64
}

// EventHubOptions configure an EventHub.
type EventHubOptions struct {
	// Poll is the pause between two reads of the streams: about how late an
	// event reaches the clients. Default 100ms.
	Poll time.Duration
	// Buffer is how many batches (one per read that found events) a
	// subscriber may have waiting before it is dropped. Default 256: about
	// 25 s of a steady flow at the default Poll.
	Buffer int
	// Batch is the most entries per zone one read takes. Default 500.
	Batch int64
	// MaxRead is about the most entries one read takes from all the zones
	// together (each zone's share at least 1, at most Batch), so a burst at
	// city scale is read in several replies, not one of hundreds of MB.
	// Default 20000.
	MaxRead int
}

func (o *EventHubOptions) ensureDefaults() {
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.Buffer <= 0 {
		o.Buffer = 256
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.MaxRead <= 0 {
		o.MaxRead = 20000
	}
}

// NewEventHub returns a hub over s's streams; it delivers nothing until Run.
func NewEventHub(s *Store, opts EventHubOptions) *EventHub {
	opts.ensureDefaults()
	return &EventHub{s: s, opts: opts, subs: map[*EventSub]struct{}{}}
}

// Run tails the streams for the subscribers until ctx is done, then closes
// every subscription.
func (h *EventHub) Run(ctx context.Context) {
	defer h.stop()
	h.mu.Lock()
	h.live = true
	h.mu.Unlock()
	failing := false // log a failure once, not every Poll
	for ctx.Err() == nil {
		h.mu.Lock()
		if len(h.subs) == 0 {
			h.cur = nil
		}
		cur := h.cur
		h.mu.Unlock()
		if cur != nil {
			evs, err := h.s.ReadEvents(ctx, cur, shareCount(h.opts.MaxRead, h.opts.Batch, len(h.s.reg.Zones())))
			if err != nil && !failing && ctx.Err() == nil {
				h.s.opts.Logger.Warn("event hub: read failed, retrying every poll", "err", err)
			} else if err == nil && failing {
				h.s.opts.Logger.Info("event hub: reading again")
			}
			failing = err != nil
			if len(evs) > 0 {
				h.deliver(evs)
			}
		}
		sleep(ctx, h.opts.Poll)
	}
}

// deliver hands evs to every subscriber, dropping those whose buffer is
// full.
func (h *EventHub) deliver(evs []occupancy.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		select {
		case sub.ch <- evs:
		default:
			sub.overflow.Store(true)
			h.drops.Add(1)
			h.remove(sub)
		}
	}
}

// stop closes every subscription and refuses new ones.
func (h *EventHub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = false
	for sub := range h.subs {
		h.remove(sub)
	}
}

// remove closes sub's channel and forgets it. h.mu is held.
func (h *EventHub) remove(sub *EventSub) {
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		close(sub.ch)
	}
}

// Subscribe returns a subscription to the batches read from now on, or nil
// when the hub is not running (not yet, or stopped) or, with no one
// subscribed before, cannot read its position from Redis: the caller then
// reads Redis itself. The caller must Close it.
func (h *EventHub) Subscribe(ctx context.Context) *EventSub {
	var pos *EventCursor
	for {
		h.mu.Lock()
		if !h.live {
			h.mu.Unlock()
			return nil
		}
		if h.cur == nil && pos != nil {
			h.cur = pos
		}
		if h.cur != nil {
			sub := &EventSub{hub: h, ch: make(chan []occupancy.Event, h.opts.Buffer)}
			h.subs[sub] = struct{}{}
			h.mu.Unlock()
			return sub
		}
		h.mu.Unlock()
		var err error
		if pos, err = h.s.EventsNow(ctx); err != nil {
			return nil
		}
	}
}

// EventHubStats are an EventHub's counters.
type EventHubStats struct {
	Subscribers int   // subscriptions open now
	Dropped     int64 // subscriptions dropped for a full buffer, since start
}

// Stats returns the hub's counters.
func (h *EventHub) Stats() EventHubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return EventHubStats{Subscribers: len(h.subs), Dropped: h.drops.Load()}
}

// An EventSub is one subscriber's feed from an EventHub.
type EventSub struct {
	hub      *EventHub
	ch       chan []occupancy.Event
	overflow atomic.Bool
}

// Events returns the batches, each in the order read (every zone's events
// in stream order). The batches are shared: do not modify them. The channel
// is closed when the subscriber is dropped (Overflowed) or the hub stops.
func (s *EventSub) Events() <-chan []occupancy.Event { return s.ch }

// Overflowed reports whether the subscription was dropped because its
// buffer was full.
func (s *EventSub) Overflowed() bool { return s.overflow.Load() }

// Close ends the subscription. It may be called more than once.
func (s *EventSub) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.remove(s)
}

// Unseen returns the events of evs that come after c in their zone, and
// moves c past them: a subscriber that caught up with its own reads passes
// the hub's batches through it to skip what it has read already. evs must
// hold whole stream entries (a space change's space and zone events
// together), as ReadEvents and the hub's batches do.
func (c *EventCursor) Unseen(evs []occupancy.Event) []occupancy.Event {
	var out []occupancy.Event
	kept := map[string]string{} // zone -> stream id kept in this call
	for _, e := range evs {
		sid, zone, ok := strings.Cut(e.ID, "@")
		if !ok {
			continue
		}
		pos, known := c.pos[zone]
		if !known {
			pos = c.def
		}
		if compareStreamIDs(sid, pos) > 0 || kept[zone] == sid {
			out = append(out, e)
			c.pos[zone], kept[zone] = sid, sid
		}
	}
	return out
}

// HubStore is an IndexedStore whose live feed is shared through an
// EventHub: the HTTP API's event stream subscribes to it.
type HubStore struct {
	IndexedStore
	Hub *EventHub
}

// SubscribeEvents subscribes to the hub; nil when it is not running.
func (s HubStore) SubscribeEvents(ctx context.Context) *EventSub { return s.Hub.Subscribe(ctx) }
