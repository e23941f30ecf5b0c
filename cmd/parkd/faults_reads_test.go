//go:build linux

package main

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// probeAnswer is one answer of a public endpoint during a fault.
type probeAnswer struct {
	target string
	status int // 0: no answer (timeout, connection closed)
	stale  bool
	took   time.Duration
}

// publicTargets are the public endpoints a probe cycles through, on the
// Qiuai registry; at is a time for the forecasts.
func publicTargets(at time.Time) []string {
	f := url.QueryEscape(at.UTC().Format(time.RFC3339))
	return []string{
		"/healthz",
		"/api/v1/summary", "/api/v1/zones", "/api/v1/zones/Z01",
		"/api/v1/spaces?limit=100", "/api/v1/spaces?zone=Z01&status=free", "/api/v1/spaces/QA-Z01-0001",
		"/api/v1/nearby?lat=29.8521&lon=121.6402&radius_m=500", "/api/v1/map",
		"/api/v1/zones/Z01/history", "/api/v1/history", "/api/v1/zones/Z01/forecast?at=" + f, "/api/v1/forecast?at=" + f,
		"/api/v1/events",
		"/ngsi-ld/v1/entities?type=ParkingSpot&limit=50", "/ngsi-ld/v1/entities?type=OnStreetParking",
		"/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:QA-Z01-0001",
		"/api/openapi.json",
	}
}

// probe asks target once, with a client timeout far above the bound, and
// reads the answer whole (only the head of a stream).
func probe(c *http.Client, base, target string) probeAnswer {
	a := probeAnswer{target: target}
	start := time.Now()
	resp, err := c.Get(base + target)
	if err == nil {
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		a.status, a.stale = resp.StatusCode, resp.Header.Get("Parkd-Stale") != ""
	}
	a.took = time.Since(start)
	if err != nil {
		a.status = 0
	}
	return a
}

// probeEvery starts a probe of the next of targets every interval for d,
// each on its own (a slow answer does not delay the next request), and
// returns their answers once all are in.
func probeEvery(c *http.Client, base string, targets []string, interval, d time.Duration) []probeAnswer {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var out []probeAnswer
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i, end := 0, time.Now().Add(d); time.Now().Before(end); i++ {
		wg.Go(func() {
			a := probe(c, base, targets[i%len(targets)])
			mu.Lock()
			out = append(out, a)
			mu.Unlock()
		})
		<-tick.C
	}
	wg.Wait()
	return out
}

// TestFaultRedisFrozenReadsAnswer freezes redis-server (SIGSTOP) for 10 s
// in the middle of the stream (2000+ msg/s) while a client asks every
// public endpoint in turn, as often as the public rate limit lets one
// address (18 requests a second, each on its own): every answer comes in under 1 s,
// none is a 500 or no answer; the reads parkd holds in memory answer 200,
// marked stale, the others 503 with Retry-After. Afterwards every space is
// right, as in the other scenarios.
func TestFaultRedisFrozenReadsAnswer(t *testing.T) {
	r := newRig(t, 1, false)
	p := r.parkds[0]
	pid := redisPID(t, r.redis)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	c := &http.Client{Timeout: 10 * time.Second}
	targets := publicTargets(time.Now().Add(time.Hour))
	var during []probeAnswer
	st := r.stream(15, 18*time.Second, func() {
		r.at(4 * time.Second)
		r.pauseRedis(pid)
		during = probeEvery(c, p.base, targets, 55*time.Millisecond, 10*time.Second) // 18 a second: under the public rate of 20
		r.resumeRedis(pid)
	})
	checkFrozenAnswers(t, during)
	r.check("Redis frozen (SIGSTOP) for 10 s while every public endpoint is asked", st)
}

// checkFrozenAnswers asserts the bounds on the answers given while Redis
// was frozen and logs them by endpoint.
func checkFrozenAnswers(t *testing.T, during []probeAnswer) {
	t.Helper()
	type tally struct {
		n, stale int
		statuses []int
		max      time.Duration
	}
	by := map[string]*tally{}
	var order []string
	for _, a := range during {
		tl := by[a.target]
		if tl == nil {
			tl = &tally{}
			by[a.target] = tl
			order = append(order, a.target)
		}
		tl.n++
		tl.max = max(tl.max, a.took)
		if a.stale {
			tl.stale++
		}
		if !slices.Contains(tl.statuses, a.status) {
			tl.statuses = append(tl.statuses, a.status)
		}
		if a.took >= time.Second {
			t.Errorf("%s took %v with Redis frozen, want under 1 s", a.target, a.took)
		}
		if a.status == 0 || a.status >= 500 && a.status != http.StatusServiceUnavailable {
			t.Errorf("%s answered %d with Redis frozen: want 200 from memory or 503", a.target, a.status)
		}
	}
	stale := 0
	for _, target := range order {
		tl := by[target]
		stale += tl.stale
		t.Logf("frozen: %-60s %3d asked, statuses %v, %3d stale, slowest %v", target, tl.n, tl.statuses, tl.stale, tl.max.Round(time.Millisecond))
	}
	if len(during) < 150 || stale == 0 {
		t.Errorf("%d answers during the freeze, %d of them stale: want 150 or more, some from memory", len(during), stale)
	}
	t.Logf("FROZEN READS: %d answers of %d endpoints in 10 s, %d of them stale", len(during), len(order), stale)
}
