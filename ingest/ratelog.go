package ingest

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// rateLog writes at most one line per interval (with a burst of one) and
// reports in each line how many were suppressed since the previous one, so
// a flood of bad messages cannot flood the log.
type rateLog struct {
	log        *slog.Logger
	level      slog.Level
	now        func() time.Time
	lim        *rate.Limiter
	suppressed atomic.Int64
}

// newRateLog returns a rateLog writing to log at level.
func newRateLog(log *slog.Logger, level slog.Level, every time.Duration, now func() time.Time) *rateLog {
	return &rateLog{log: log, level: level, now: now, lim: rate.NewLimiter(rate.Every(every), 1)}
}

// Log writes msg with args, or counts it as suppressed.
func (l *rateLog) Log(msg string, args ...any) {
	if !l.lim.AllowN(l.now(), 1) {
		l.suppressed.Add(1)
		return
	}
	if n := l.suppressed.Swap(0); n > 0 {
		args = append(args, "suppressed", n)
	}
	l.log.Log(context.Background(), l.level, msg, args...)
}
