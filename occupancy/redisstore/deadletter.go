package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DeadLetter is a rejected message kept for staff to inspect.
type DeadLetter struct {
	ID         string    `json:"id"` // stream entry id; empty when adding
	ReceivedAt time.Time `json:"received_at"`
	Topic      string    `json:"topic"`
	Result     string    `json:"result"` // invalid or unknown_sensor
	Reason     string    `json:"reason"`
	Payload    string    `json:"payload"` // at most MaxDeadLetterPayload bytes
}

// MaxDeadLetterPayload is how much of a rejected payload is kept.
const MaxDeadLetterPayload = 1024

// AddDeadLetter appends a rejected message to the capped stream. Longer
// payloads are cut to MaxDeadLetterPayload bytes.
func (s *Store) AddDeadLetter(ctx context.Context, d DeadLetter) error {
	if len(d.Payload) > MaxDeadLetterPayload {
		d.Payload = d.Payload[:MaxDeadLetterPayload]
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = s.opts.Now()
	}
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: s.rejected, MaxLen: s.opts.DeadLetterMax, Approx: true,
		Values: []any{"received_at", d.ReceivedAt.UTC().Format(time.RFC3339Nano), "topic", d.Topic,
			"result", d.Result, "reason", d.Reason, "payload", d.Payload},
	}).Err()
	if err != nil {
		return fmt.Errorf("redis store: add dead letter: %w", err)
	}
	return nil
}

// DeadLetters returns up to limit of the newest rejected messages, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.rejected, "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: list dead letters: %w", err)
	}
	out := make([]DeadLetter, len(msgs))
	for i, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		at, _ := time.Parse(time.RFC3339Nano, str("received_at"))
		out[i] = DeadLetter{ID: m.ID, ReceivedAt: at, Topic: str("topic"), Result: str("result"),
			Reason: str("reason"), Payload: str("payload")}
	}
	return out, nil
}
