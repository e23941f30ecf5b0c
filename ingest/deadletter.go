package ingest

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// DeadLetterPanic is the DeadLetter.Result of a message whose handling
// panicked.
const DeadLetterPanic = "panic"

// fileRejected keeps a message that its outcome err rejects for good
// (EINVALID, unknown sensor, wrong clock, retained, panic) in the store's dead-letter stream,
// counts it, logs it at a limited rate, and returns nil: the message is
// handled. If the dead letter cannot be written, it returns that error
// (retried; the message is not acknowledged before its dead letter is
// stored). Other outcomes, nil included, are returned as they are.
func (p *Pipeline) fileRejected(ctx context.Context, topic string, payload []byte, err error) error {
	if err == nil {
		return nil // applied: the common case, without rejection's allocations
	}
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
	var pe *panicError
	var ce *occupancy.ClockError
	var re *retainedError
	switch {
	case err == nil:
		return "", "", false
	case errors.As(err, &ce):
		return string(occupancy.ResultClock), ce.Error(), true
	case errors.As(err, &re):
		return string(occupancy.ResultRetained), re.Error(), true
	case occupancy.ErrorCode(err) == occupancy.EINVALID:
		return string(occupancy.ResultInvalid), occupancy.ErrorMessage(err), true
	case errors.As(err, &unknown):
		return string(occupancy.ResultUnknownSensor), unknown.Error(), true
	case errors.As(err, &pe):
		return DeadLetterPanic, clip(fmt.Sprint(pe.value), 500), true
	}
	return "", "", false
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
