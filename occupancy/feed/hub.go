package feed

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/qiuai/parking/occupancy"
)

// A Hub fans the Tailer's batches out to its subscribers (the SSE
// streams). It is a Sink.
//
// A subscriber first catches up from the store with a cursor of its own
// (its Last-Event-ID, or now), having subscribed before it starts, and then
// takes the hub's batches through occupancy.EventCursor.Unseen, which drops
// what its catch-up already read: no gap, no duplicate (every batch the
// Tailer delivers after the subscription is in the subscriber's channel,
// and what the Tailer read before it is in the store for the catch-up).
// Each subscriber has a bounded buffer of batches and of events; the hub
// never waits for one: a subscriber whose buffer is full is dropped (its
// channel closed, Overflowed true), so a slow client cannot hold the
// others back, nor parkd's memory, and, reconnecting from its last id,
// misses nothing. Every subscriber gets the same Delivery of a batch, on
// which they can share work: rendering the events for the wire once
// (Memo) rather than once per client.
type Hub struct {
	buffer int
	mu     sync.Mutex
	subs   map[*Sub]struct{}
	live   bool // Run is running: subscribing is possible
	drops  atomic.Int64

	maxPending int64 // HubOptions.MaxPending
}

// HubOptions configure a Hub.
type HubOptions struct {
	// Buffer is how many batches a subscriber may have waiting before it
	// is dropped. Default 256: a few seconds of a flood of changes.
	Buffer int
	// MaxPending is how many events a subscriber may have waiting (in
	// batches it has not taken, Sub.Took) before it is dropped, whatever
	// the number of batches: what the hub holds for its subscribers stays
	// bounded when the batches are large (a flood, read in big batches).
	// Default 20000: 10 s of 2000 changes a second, a few MB.
	MaxPending int
}

// NewHub returns a hub; it takes subscribers while Run runs.
func NewHub(opts HubOptions) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 20000
	}
	return &Hub{buffer: opts.Buffer, maxPending: int64(opts.MaxPending), subs: map[*Sub]struct{}{}}
}

// Run takes subscribers until ctx is done, then closes every subscription
// and refuses new ones. It returns nil.
func (h *Hub) Run(ctx context.Context) error {
	h.mu.Lock()
	h.live = true
	h.mu.Unlock()
	<-ctx.Done()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = false
	for sub := range h.subs {
		h.remove(sub)
	}
	return nil
}

// Deliver hands b's events to every subscriber, dropping those whose
// buffer is full. A zone event's Data is marshalled here, once for all.
func (h *Hub) Deliver(_ context.Context, b Batch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 || len(b.Events) == 0 {
		return
	}
	d := &Delivery{Events: make([]occupancy.Event, len(b.Events))}
	for i, e := range b.Events {
		d.Events[i] = e.WithData()
	}
	n := int64(len(d.Events))
	for sub := range h.subs {
		if sub.pending.Load()+n > h.maxPending && sub.pending.Load() > 0 {
			sub.overflow.Store(true)
			h.drops.Add(1)
			h.remove(sub)
			continue
		}
		select {
		case sub.ch <- d:
			sub.pending.Add(n)
		default:
			sub.overflow.Store(true)
			h.drops.Add(1)
			h.remove(sub)
		}
	}
}

// remove closes sub's channel and forgets it. h.mu is held.
func (h *Hub) remove(sub *Sub) {
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		close(sub.ch)
	}
}

// Subscribe returns a subscription to the batches delivered from now on,
// or nil when the hub is not running (not yet, or stopped). The caller
// must Close it.
func (h *Hub) Subscribe() *Sub {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.live {
		return nil
	}
	sub := &Sub{hub: h, ch: make(chan *Delivery, h.buffer)}
	h.subs[sub] = struct{}{}
	return sub
}

// HubStats are a Hub's counters.
type HubStats struct {
	Subscribers int   // subscriptions open now
	Dropped     int64 // subscriptions dropped for a full buffer, since start
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HubStats{Subscribers: len(h.subs), Dropped: h.drops.Load()}
}

// A Delivery is one batch as the hub hands it to every subscriber.
type Delivery struct {
	// Events are the batch's events in the order read, each zone event's
	// Data marshalled. Shared: do not modify them.
	Events []occupancy.Event

	once sync.Once
	memo any
}

// Memo returns make(d.Events), made once for all the subscribers of d:
// the first caller makes it, the others wait for it and share it.
func (d *Delivery) Memo(make func([]occupancy.Event) any) any {
	d.once.Do(func() { d.memo = make(d.Events) })
	return d.memo
}

// A Sub is one subscriber's feed from a Hub.
type Sub struct {
	hub      *Hub
	ch       chan *Delivery
	overflow atomic.Bool
	pending  atomic.Int64 // events sent and not taken
}

// Deliveries returns the batches, in the order read; call Took for each
// one taken. The channel is closed when the subscriber is dropped
// (Overflowed) or the hub stops.
func (s *Sub) Deliveries() <-chan *Delivery { return s.ch }

// Took tells the hub that d, received from Deliveries, is no longer
// waiting: its events no longer count against HubOptions.MaxPending.
func (s *Sub) Took(d *Delivery) { s.pending.Add(-int64(len(d.Events))) }

// Overflowed reports whether the subscription was dropped because its
// buffer was full.
func (s *Sub) Overflowed() bool { return s.overflow.Load() }

// Close ends the subscription. It may be called more than once.
func (s *Sub) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.remove(s)
}
