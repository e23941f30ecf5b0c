package readmodel

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/qiuai/parking/occupancy"
)

// A store that does not answer. Every read the model makes of the store
// for an answer (not the feed's reads, which keep the model current) goes
// through a circuit breaker: the first read that fails with EUNAVAILABLE
// opens it, and for StoreRetry every answer comes from memory without
// asking; then one answer asks the store again (half-open) while the others
// still come from memory, and its success closes the breaker. So under a
// frozen Redis at most one request at a time waits for its deadline.

// newBreaker returns the breaker of a model: open at the first outage for
// retry, one trial read when half-open; other errors (not found, invalid)
// are the store's answers, and a caller gone counts neither way.
func newBreaker(retry time.Duration) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         "store",
		MaxRequests:  1,
		Timeout:      retry,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		IsSuccessful: func(err error) bool { return occupancy.ErrorCode(err) != occupancy.EUNAVAILABLE },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
	})
}

// ask runs read, a read of the store for an answer, unless the breaker
// keeps the store out. It returns false when the answer must come from
// memory instead (the breaker refused, or read failed with EUNAVAILABLE),
// with an EUNAVAILABLE error to return where memory holds no answer;
// otherwise true and read's error.
func (m *Model) ask(read func() error) (bool, error) {
	done, err := m.breaker.Allow()
	if err != nil {
		return false, occupancy.Unavailable(err)
	}
	err = read()
	done(err)
	if occupancy.ErrorCode(err) == occupancy.EUNAVAILABLE {
		return false, err
	}
	return true, err
}

// markStale notes that ctx's answer comes from memory while the store did
// not answer, as of when the model last heard from it.
func (m *Model) markStale(ctx context.Context) {
	m.stats.staleAnswers.Add(1)
	occupancy.MarkStale(ctx, m.confirmed())
}
