package ingest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// PanicError is what Recover returns for a handler that panicked. Its code
// is EINTERNAL (it is not an *occupancy.Error).
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("ingest: handler panicked: %v", e.Value) }

// Recover turns a panic in next into a *PanicError, counts and logs it; the
// process never crashes on a message.
func (p *Pipeline) Recover(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, topic string, payload []byte) (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = p.recovered(topic, v)
			}
		}()
		return next(ctx, topic, payload)
	}
}

// recovered counts and logs the panic v of the handling of a message on
// topic, and returns it as a *PanicError. Call it in the deferred function
// that recovered v, so that the stack is the panicking goroutine's.
func (p *Pipeline) recovered(topic string, v any) *PanicError {
	pe := &PanicError{Value: v, Stack: debug.Stack()}
	p.m.panics.Inc()
	p.panicLog.Log("panic while handling a message", "topic", clip(topic, 200),
		"panic", fmt.Sprint(v), "stack", string(pe.Stack))
	return pe
}

// DeadLetter keeps every message that next rejects for good (EINVALID,
// unknown sensor, panic) in the store's dead-letter stream, counts it, logs
// it at a limited rate, and returns nil so the message is acknowledged. If
// the dead letter cannot be written, it returns that error (retried; the
// message is not acknowledged before the dead letter is stored). Other
// errors pass through.
func (p *Pipeline) DeadLetter(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, topic string, payload []byte) error {
		return p.fileRejected(ctx, topic, payload, next(ctx, topic, payload))
	}
}

// fileRejected is DeadLetter's work on the error err that handling the
// message returned: a rejection is kept as a dead letter, counted and
// logged, and gives nil (or the dead-letter write's error); other errors,
// nil included, are returned as they are.
func (p *Pipeline) fileRejected(ctx context.Context, topic string, payload []byte, err error) error {
	result, reason, ok := rejection(err)
	if !ok {
		return err
	}
	d := occupancy.DeadLetter{
		ReceivedAt: p.now(), Topic: clip(topic, 256), Result: result,
		Reason: reason, Payload: truncate(payload, occupancy.MaxDeadLetterPayload),
	}
	if err := p.store.AddDeadLetter(ctx, d); err != nil {
		return fmt.Errorf("ingest: add dead letter: %w", err)
	}
	if c, ok := p.m.messages[occupancy.Result(result)]; ok {
		c.Inc()
	}
	p.badLog.Log("rejected message", "topic", d.Topic, "result", result, "reason", reason)
	return nil
}

// rejection tells whether err rejects the message for good, and how to
// file it.
func rejection(err error) (result, reason string, ok bool) {
	var unknown *codec.UnknownSensorError
	var pe *PanicError
	switch {
	case err == nil:
		return "", "", false
	case occupancy.ErrorCode(err) == occupancy.EINVALID:
		return string(occupancy.ResultInvalid), occupancy.ErrorMessage(err), true
	case errors.As(err, &unknown):
		return string(occupancy.ResultUnknownSensor), unknown.Error(), true
	case errors.As(err, &pe):
		// Retrying a deterministic panic would hold the message (and one
		// of the broker's in-flight slots) for ever: keep it and move on.
		return DeadLetterPanic, clip(fmt.Sprint(pe.Value), 500), true
	}
	return "", "", false
}

// Retry runs next until it succeeds or ctx is done, waiting between
// attempts with exponential backoff (RetryMin doubling up to RetryMax) and
// jitter; each attempt gets at most AttemptTimeout. Every error is retried:
// by the time it gets here, a message is either handled or waiting on the
// store. It returns nil on success and an error only when ctx ended first,
// in which case the message must not be acknowledged. Failures feed
// StoreErr and the outage metrics.
func (p *Pipeline) Retry(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, topic string, payload []byte) error {
		delay := p.retryMin
		for {
			err := p.attemptOnce(ctx, next, topic, payload)
			if err == nil {
				p.storeUp()
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("ingest: stopped before the message was handled: %w", err)
			}
			p.storeDown(err, delay)
			if !sleep(ctx, jitter(delay)) {
				return fmt.Errorf("ingest: stopped while retrying: %w", err)
			}
			delay = min(2*delay, p.retryMax)
		}
	}
}

// attemptOnce runs next once, within AttemptTimeout.
func (p *Pipeline) attemptOnce(ctx context.Context, next HandlerFunc, topic string, payload []byte) error {
	actx, cancel := context.WithTimeout(ctx, p.attempt)
	defer cancel()
	return next(actx, topic, payload)
}

// storeDown records a failed attempt.
func (p *Pipeline) storeDown(err error, delay time.Duration) { p.storeDownN(err, delay, 1) }

// storeDownN records a failed attempt at n messages (each a retried store
// write in parkd_ingest_retries_total).
func (p *Pipeline) storeDownN(err error, delay time.Duration, n int) {
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

// jitter returns a random delay in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or until ctx is done; it reports whether it slept fully.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// truncate returns at most n bytes of p as a string, cut at a rune start.
func truncate(p []byte, n int) string {
	if len(p) <= n {
		return string(p)
	}
	for n > 0 && !utf8.RuneStart(p[n]) {
		n--
	}
	return string(p[:n])
}
