package httpapi

import (
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// Limits on the live event streams. Each stream holds a connection, a
// goroutine and a subscription for as long as its client listens, so
// without a cap one client (or many) could open streams until parkd runs
// out of file descriptors, and then not even the probes answer. Past
// Options.EventMaxStreams a new stream gets 503 unavailable, past
// Options.EventMaxPerIP from one client IP 429 rate_limited (callers with
// a staff token, not rate-limited either, count in all but not per
// address: a town hall's dashboards may share one), both with Retry-After,
// counted in parkd_events_refused_total{reason}. The other endpoints are
// not limited by them.

// Reasons of a refused stream (parkd_events_refused_total's label).
const (
	refusedMaxStreams = "max_streams"
	refusedMaxPerIP   = "max_per_ip"
)

// streamRetrySeconds is the Retry-After of a refused stream: streams are
// long-lived, so a slot frees when some client leaves, not at once.
const streamRetrySeconds = 30

// streamLimits counts the open streams, in all and by client IP.
type streamLimits struct {
	max, perIP int // 0: no limit
	m          *httpMetrics

	mu   sync.Mutex
	open int
	byIP map[string]int
}

// newStreamLimits returns the limits of max streams in all and perIP from
// one client IP (0: no limit).
func newStreamLimits(max, perIP int, m *httpMetrics) *streamLimits {
	return &streamLimits{max: max, perIP: perIP, m: m, byIP: map[string]int{}}
}

// acquire takes a stream slot for the caller of c and returns its
// release, or, at a limit, an error to answer with (its Retry-After set on
// c). It runs after authenticate.
func (l *streamLimits) acquire(c *gin.Context) (release func(), err error) {
	ip := c.ClientIP()
	if callerRole(c) != "" {
		ip = "" // staff: not limited per address
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.max > 0 && l.open >= l.max:
		err = occupancy.Errorf(occupancy.EUNAVAILABLE, "parkd serves %d live streams, its most; retry in %d s", l.max, streamRetrySeconds)
		l.m.eventsRefused.WithLabelValues(refusedMaxStreams).Inc()
	case l.perIP > 0 && ip != "" && l.byIP[ip] >= l.perIP:
		err = occupancy.Errorf(eRateLimited, "this address has %d live streams open, its most; close one or retry in %d s", l.perIP, streamRetrySeconds)
		l.m.eventsRefused.WithLabelValues(refusedMaxPerIP).Inc()
	}
	if err != nil {
		c.Header("Retry-After", strconv.Itoa(streamRetrySeconds))
		return nil, err
	}
	l.open++
	l.byIP[ip]++
	var once sync.Once
	return func() { once.Do(func() { l.release(ip) }) }, nil
}

// release gives back a slot of ip.
func (l *streamLimits) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}
