package ingest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// storeHealth follows the outcome of store writes as the retry middleware
// sees them: an outage begins with a failed write and ends with the next
// successful one. It feeds Ready and the outage metrics.
type storeHealth struct {
	now func() time.Time
	m   *metrics

	isDown atomic.Bool // mirrors down, for the lock-free fast path of ok

	mu      sync.Mutex
	down    bool
	since   time.Time // start of the current outage
	counted time.Time // outage time up to here is in m.downSecs
	lastErr error
	fails   int64 // failed attempts in the current outage
}

// fail records a failed write. It reports whether this failure began an
// outage.
func (h *storeHealth) fail(err error) (began bool) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastErr = err
	h.fails++
	if h.down {
		h.account(now)
		return false
	}
	h.down, h.since, h.counted, h.fails = true, now, now, 1
	h.isDown.Store(true)
	h.m.downSince.Set(float64(now.UnixNano()) / 1e9)
	return true
}

// ok records a successful write. If it ended an outage it returns the
// outage's length and its number of failed attempts.
func (h *storeHealth) ok() (ended bool, lasted time.Duration, fails int64) {
	if !h.isDown.Load() {
		return false, 0, 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return false, 0, 0
	}
	now := h.now()
	h.account(now)
	h.down = false
	h.isDown.Store(false)
	h.m.downSince.Set(0)
	return true, now.Sub(h.since), h.fails
}

// account adds the outage time since the last call to the counter.
func (h *storeHealth) account(now time.Time) {
	if d := now.Sub(h.counted); d > 0 {
		h.m.downSecs.Add(d.Seconds())
		h.counted = now
	}
}

// err returns nil while the store is up, and otherwise an error saying since
// when it is down and why.
func (h *storeHealth) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return nil
	}
	return fmt.Errorf("ingest: store unavailable since %s (%d failed attempts, retrying): %w",
		h.since.UTC().Format(time.RFC3339), h.fails, h.lastErr)
}
