package occupancy

import (
	"context"
	"sync"
	"time"
)

// Staleness records, for one request, that its answer holds figures read
// from a copy in memory that the store could not confirm (it was down or
// too slow), and when the copy was last confirmed. A transport creates one
// per request with WithStaleness; the readers that answer from memory mark
// it with MarkStale; the transport then says so in the answer.
type Staleness struct {
	mu        sync.Mutex
	stale     bool
	confirmed time.Time // the oldest confirmation marked
}

type stalenessKey struct{}

// WithStaleness returns ctx carrying a new Staleness, and that Staleness.
func WithStaleness(ctx context.Context) (context.Context, *Staleness) {
	s := &Staleness{}
	return context.WithValue(ctx, stalenessKey{}, s), s
}

// MarkStale records on ctx's Staleness, if it carries one, that part of the
// answer was last confirmed by the store at confirmed (zero: never).
func MarkStale(ctx context.Context, confirmed time.Time) {
	s, _ := ctx.Value(stalenessKey{}).(*Staleness)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stale || confirmed.Before(s.confirmed) {
		s.confirmed = confirmed
	}
	s.stale = true
}

// Stale reports whether the answer was marked stale and, if so, the oldest
// time its figures were confirmed by the store (zero: never).
func (s *Staleness) Stale() (confirmed time.Time, stale bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.confirmed, s.stale
}
