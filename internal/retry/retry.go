// Package retry is the one backoff that parkd's parts wait by between
// attempts (a store write, a subscription, a publish, a read of the change
// streams, the store's set-up): exponential with jitter, from
// github.com/cenkalti/backoff/v5.
package retry

import (
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Backoff returns the waits between attempts: min, doubling up to max,
// each a random ±50% of its delay. It is not safe for concurrent use: each
// run of attempts takes its own.
func Backoff(min, max time.Duration) *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{InitialInterval: min, Multiplier: 2, MaxInterval: max, RandomizationFactor: 0.5}
	b.Reset()
	return b
}

// Wait waits d, or until stop is closed; it reports whether it waited
// fully.
func Wait(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}
