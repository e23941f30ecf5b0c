package httpapi

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/qiuai/parking/occupancy"
)

// eRateLimited is the error code of a client over the public rate limit.
const eRateLimited = "rate_limited"

// Bounds of the per-client limiter table.
const (
	// maxLimitedClients caps the table; past it, an arbitrary entry makes
	// room (that client starts again with a full bucket).
	maxLimitedClients = 100_000
	// limiterSweepEvery is how often idle entries are dropped.
	limiterSweepEvery = time.Minute
)

// ipLimiter is a token bucket per client IP: rate tokens a second, burst
// twice that. A bucket idle long enough to be full again is dropped, so
// memory follows the clients of the last minutes, not all clients ever.
type ipLimiter struct {
	rate  rate.Limit
	burst int
	idle  time.Duration // after this, a bucket is full again: dropping it loses nothing
	now   func() time.Time

	mu        sync.Mutex
	clients   map[string]*clientBucket
	lastSweep time.Time
}

type clientBucket struct {
	lim  *rate.Limiter
	last time.Time
}

// newIPLimiter returns a limiter of perSecond requests a second per IP
// (burst 2×perSecond, at least 1).
func newIPLimiter(perSecond float64, now func() time.Time) *ipLimiter {
	burst := max(1, int(math.Ceil(2*perSecond)))
	idle := time.Duration(float64(burst)/perSecond*float64(time.Second)) + time.Second
	return &ipLimiter{rate: rate.Limit(perSecond), burst: burst, idle: idle, now: now,
		clients: map[string]*clientBucket{}, lastSweep: now()}
}

// allow takes a token for ip. When none is left it returns false and how
// long until one is.
func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.clients[ip]
	if !ok {
		l.makeRoom()
		b = &clientBucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[ip] = b
	}
	b.last = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	r := b.lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return false, wait
}

// sweep drops idle buckets, at most once every limiterSweepEvery.
func (l *ipLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < limiterSweepEvery {
		return
	}
	l.lastSweep = now
	for ip, b := range l.clients {
		if now.Sub(b.last) > l.idle {
			delete(l.clients, ip)
		}
	}
}

// makeRoom drops one entry when the table is full.
func (l *ipLimiter) makeRoom() {
	if len(l.clients) < maxLimitedClients {
		return
	}
	for ip := range l.clients {
		delete(l.clients, ip)
		return
	}
}

// size is the number of clients tracked.
func (l *ipLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// rateLimit answers 429 rate_limited, with Retry-After in whole seconds,
// to a client IP over the limit. Callers with a valid staff token are not
// limited. It runs after authenticate.
func (l *ipLimiter) rateLimit(c *gin.Context) {
	if callerRole(c) != "" {
		c.Next()
		return
	}
	ok, wait := l.allow(c.ClientIP())
	if ok {
		c.Next()
		return
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	c.Header("Retry-After", strconv.Itoa(secs))
	fail(c, occupancy.Errorf(eRateLimited, "too many requests from this address; retry in %d s", secs))
}
