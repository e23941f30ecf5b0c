package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// HistoryRecorder samples the zones' counters into the occupancy history.
// *redisstore.Store implements it.
type HistoryRecorder interface {
	// RecordHistory samples every zone's counters into the bucket holding
	// at; sampling the same bucket again overwrites it.
	RecordHistory(ctx context.Context, at time.Time) error
}

// RunHistorySampler records the history once at start, then at the start
// of every bucket (occupancy.HistoryStep, plus a second), until ctx is
// done; now is the clock. Run it on every instance: they write the same
// buckets. It returns nil.
func RunHistorySampler(ctx context.Context, h HistoryRecorder, now func() time.Time, log *slog.Logger) error {
	log = orDiscard(log).With("component", "history")
	for {
		if err := h.RecordHistory(ctx, now()); err != nil && ctx.Err() == nil {
			log.Warn("history sample failed", "err", err)
		}
		t := now()
		if !sleep(ctx, occupancy.BucketStart(t).Add(occupancy.HistoryStep).Sub(t)+time.Second) {
			return nil
		}
	}
}
