// Package jobs holds parkd's periodic jobs: the sweeper that turns the
// spaces of silent sensors unknown, the reopener of closures at their end,
// the history sampler and the incident detector. Each is a Run function
// over the store's interface it needs, stopping when its context is done;
// parkd runs them all under one errgroup. They are safe on several
// instances at once: every step they take in the store is atomic and
// idempotent.
package jobs

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// Sweeper marks silent spaces unknown. *redisstore.Store implements it.
type Sweeper interface {
	// Sweep marks unknown every free or occupied space whose sensor has
	// been silent past the offline limit, and returns how many it marked.
	Sweep(ctx context.Context) (int, error)
}

// RunSweeper calls Sweep every interval until ctx is done, logging what it
// marked and its failures. It returns nil.
func RunSweeper(ctx context.Context, s Sweeper, interval time.Duration, log *slog.Logger) error {
	log = orDiscard(log).With("component", "sweeper")
	every(ctx, interval, func() {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep failed", "err", err)
		} else if n > 0 {
			log.Info("silent spaces marked unknown", "count", n)
		}
	})
	return nil
}

// Reopener ends closures whose time is up. *redisstore.Store implements it.
type Reopener interface {
	// ReopenDue opens every closure whose until has passed and returns how
	// many it opened.
	ReopenDue(ctx context.Context) (int, error)
}

// ReopenInterval is how often parkd runs the reopener: a closure ends at
// most this long after its until.
const ReopenInterval = 5 * time.Second

// RunReopener calls ReopenDue every interval until ctx is done. It returns
// nil.
func RunReopener(ctx context.Context, r Reopener, interval time.Duration, log *slog.Logger) error {
	log = orDiscard(log).With("component", "reopener")
	every(ctx, interval, func() {
		if n, err := r.ReopenDue(ctx); err != nil && ctx.Err() == nil {
			log.Warn("reopening due closures failed", "err", err)
		} else if n > 0 {
			log.Info("closures ended at their until", "count", n)
		}
	})
	return nil
}

// every calls f every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// sleep waits d or until ctx is done; it reports whether it slept fully.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// orDiscard returns log, or a logger that discards when it is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return log
}
