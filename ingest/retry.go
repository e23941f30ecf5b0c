package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/qiuai/parking/internal/retry"
)

// handling is one Handle call: its messages and what has become of each.
type handling struct {
	p       *Pipeline
	msgs    []Message
	done    func(int)
	state   []msgState // of each message
	gaveUp  error      // the last panic of a message given up
	scratch *scratch
}

// msgState is what has become of one message of a handling.
type msgState struct {
	done     bool        // handled for good: done was called
	panicked *panicError // its handling alone panicked: its outcome, to keep as a dead letter
	gaveUp   bool        // keeping that dead letter panicked too: left unacknowledged
}

// retry makes attempts at the messages until every one is handled or given
// up, or ctx ends. Between two attempts it waits with exponential backoff
// and jitter (retry.Backoff); each attempt after the first is at the messages
// whose store write failed in the one before, and each failed write is
// counted in the outage bookkeeping.
func (h *handling) retry(ctx context.Context) error {
	pending := grow(h.scratch.pending, len(h.msgs))
	for i := range pending {
		pending[i] = i
	}
	h.scratch.pending = pending
	var bo *backoff.ExponentialBackOff
	for {
		failed, err := h.attemptWithin(ctx, pending)
		if len(failed) == 0 {
			h.p.storeUp()
			return h.gaveUp
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ingest: stopped before %d of %d messages were handled: %w", len(failed), len(h.msgs), err)
		}
		if bo == nil {
			bo = retry.Backoff(h.p.retryMin, h.p.retryMax)
		}
		delay := bo.NextBackOff()
		h.p.storeDown(err, delay, len(failed))
		if !sleep(ctx, delay) {
			return fmt.Errorf("ingest: stopped while retrying %d messages: %w", len(failed), err)
		}
		pending = failed
	}
}

// attemptWithin makes one attempt at msgs[i] for each i of idx, within
// AttemptTimeout.
func (h *handling) attemptWithin(ctx context.Context, idx []int) (failed []int, err error) {
	actx, cancel := context.WithTimeout(ctx, h.p.attempt)
	defer cancel()
	return h.attempt(actx, idx)
}

// sleep waits d, or until ctx is done; it reports whether it slept fully.
func sleep(ctx context.Context, d time.Duration) bool { return retry.Wait(ctx.Done(), d) }

// storeDown records a failed attempt at n messages (each a retried store
// write in parkd_ingest_retries_total); delay is the wait before the next.
func (p *Pipeline) storeDown(err error, delay time.Duration, n int) {
	p.m.retries.Add(float64(n))
	if p.health.fail(err) {
		p.downLog.Log("store unavailable: holding messages unacknowledged and retrying", "error", err.Error())
		return
	}
	p.downLog.Log("store still unavailable, retrying", "error", err.Error(), "next_delay", delay.String())
}

// storeUp records a successful attempt.
func (p *Pipeline) storeUp() {
	if ended, lasted, fails := p.health.ok(); ended {
		p.log.Info("store available again", "outage", lasted.Round(time.Millisecond).String(), "failed_attempts", fails)
	}
}
