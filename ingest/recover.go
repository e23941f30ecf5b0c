package ingest

import (
	"context"
	"fmt"
	"runtime/debug"
)

// attempt makes one attempt at msgs[i] for each i of idx (settle). It
// returns the indexes whose store write failed, in order, and the last
// failure.
//
// A panic anywhere in the attempt (decoding, the store, a dead-letter
// write, done) is recovered here, by guard, and attributed: the messages
// not yet done are attempted again one at a time, so only the message that
// causes it is affected, and the others are applied as they would be (a
// reading the panicking batch call stored is then a duplicate). The panic
// of a message alone is its outcome: it is kept as a dead letter with
// result "panic", rather than retried, as a deterministic panic retried for
// ever would hold a worker and one of the broker's in-flight slots for
// good. Should keeping that dead letter panic too, the message is given
// up: left unacknowledged for the broker to deliver again to the next
// session, and Handle returns an error.
func (h *handling) attempt(ctx context.Context, idx []int) (failed []int, err error) {
	failed, pe, err := h.guard(ctx, idx)
	if pe == nil {
		return failed, err
	}
	left := h.notDone(idx)
	switch {
	case len(left) > 1:
		return h.oneByOne(ctx, left)
	case len(left) == 0:
		return nil, nil
	}
	st := &h.state[left[0]]
	if st.panicked != nil {
		st.gaveUp, h.gaveUp = true, h.p.givenUp(h.msgs[left[0]].Topic, pe)
		return nil, nil
	}
	st.panicked = h.p.recovered(h.msgs[left[0]].Topic, pe)
	return h.attempt(ctx, left)
}

// guard runs settle on idx and recovers a panic in it: pe is the panic,
// with the stack of the goroutine that panicked. It is the one recover of
// the ingest.
func (h *handling) guard(ctx context.Context, idx []int) (failed []int, pe *panicError, err error) {
	defer func() {
		if v := recover(); v != nil {
			pe = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	failed, err = h.settle(ctx, idx)
	return failed, nil, err
}

// oneByOne attempts each message of idx alone.
func (h *handling) oneByOne(ctx context.Context, idx []int) (failed []int, err error) {
	for _, i := range idx {
		if f, e := h.attempt(ctx, []int{i}); len(f) > 0 {
			failed, err = append(failed, f...), e
		}
	}
	return failed, err
}

// notDone returns the indexes of idx not handled for good.
func (h *handling) notDone(idx []int) []int {
	var left []int
	for _, i := range idx {
		if st := h.state[i]; !st.done && !st.gaveUp {
			left = append(left, i)
		}
	}
	return left
}

// panicError is the outcome of a message whose handling panicked. Its code
// is EINTERNAL (it is not an *occupancy.Error).
type panicError struct {
	value any    // the value passed to panic
	stack []byte // the panicking goroutine's stack
}

// Error implements error.
func (e *panicError) Error() string { return fmt.Sprintf("ingest: handling panicked: %v", e.value) }

// recovered counts and logs the panic of the handling of a message on
// topic, and returns it as its outcome.
func (p *Pipeline) recovered(topic string, pe *panicError) *panicError {
	p.m.panics.Inc()
	p.panicLog.Log("panic while handling a message", "topic", clip(topic, 200),
		"panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
	return pe
}

// givenUp counts and logs the panic of keeping the dead letter of a
// message whose handling panicked, and returns the error Handle reports.
// The line is not rate-limited: each is a message held back.
func (p *Pipeline) givenUp(topic string, pe *panicError) error {
	p.m.panics.Inc()
	p.log.Error("panic while keeping the dead letter of a panicking message: left unacknowledged",
		"topic", clip(topic, 200), "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
	return fmt.Errorf("ingest: message left unacknowledged: %w", pe)
}
