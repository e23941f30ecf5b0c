package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// AddDeadLetter appends a rejected message to the capped stream. Longer
// payloads are cut to occupancy.MaxDeadLetterPayload bytes.
func (s *Store) AddDeadLetter(ctx context.Context, d occupancy.DeadLetter) error {
	if len(d.Payload) > occupancy.MaxDeadLetterPayload {
		d.Payload = d.Payload[:occupancy.MaxDeadLetterPayload]
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
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]occupancy.DeadLetter, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.rejected, "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: list dead letters: %w", err)
	}
	out := make([]occupancy.DeadLetter, len(msgs))
	for i, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		at, _ := time.Parse(time.RFC3339Nano, str("received_at"))
		out[i] = occupancy.DeadLetter{ID: m.ID, ReceivedAt: at, Topic: str("topic"), Result: str("result"),
			Reason: str("reason"), Payload: str("payload")}
	}
	return out, nil
}
