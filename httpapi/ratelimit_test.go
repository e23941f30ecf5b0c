package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// from sends GET target from the client address remote, with optional
// headers as name, value pairs.
func (e *env) from(remote, target string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	return w
}

func TestPublicRateLimit(t *testing.T) {
	// 5 requests a second, bursts of 10; the test clock stands still.
	e := newEnv(t, func(o *Options) { o.PublicRate = 5 })
	const a, b = "203.0.113.1:4000", "203.0.113.2:4000"
	for i := range 10 {
		if w := e.from(a, "/api/v1/summary"); w.Code != http.StatusOK {
			t.Fatalf("request %d of the burst: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := e.from(a, "/api/v1/zones")
	expectError(t, w, http.StatusTooManyRequests, "rate_limited")
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1 (a token every 0.2 s)", got)
	}
	// Every public surface counts, not only /api/v1.
	expectError(t, e.from(a, "/ngsi-ld/v1/entities?type=ParkingSpot"), http.StatusTooManyRequests, "rate_limited")
	expectError(t, e.from(a, "/api/openapi.json"), http.StatusTooManyRequests, "rate_limited")

	// Another client is unaffected; probes, metrics and staff are not limited.
	if w := e.from(b, "/api/v1/summary"); w.Code != http.StatusOK {
		t.Errorf("another IP: %d, want 200", w.Code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if w := e.from(a, path); w.Code != http.StatusOK {
			t.Errorf("%s over the limit: %d, want 200", path, w.Code)
		}
	}
	if w := e.from(a, "/api/v1/summary", "Authorization", "Bearer "+viewerToken); w.Code != http.StatusOK {
		t.Errorf("staff over the limit: %d, want 200", w.Code)
	}
	// A wrong token is no way around the limit.
	expectError(t, e.from(a, "/api/v1/summary", "Authorization", "Bearer wrong-token-0123456789"),
		http.StatusTooManyRequests, "rate_limited")

	// One second later five more requests pass, the sixth does not.
	e.clk.Set(t0.Add(time.Second))
	for i := range 5 {
		if w := e.from(a, "/api/v1/summary"); w.Code != http.StatusOK {
			t.Fatalf("request %d after a second: %d", i+1, w.Code)
		}
	}
	expectError(t, e.from(a, "/api/v1/summary"), http.StatusTooManyRequests, "rate_limited")
}

func TestRateLimitRetryAfterRoundsUp(t *testing.T) {
	// 0.25 requests a second: burst 1, then a token every 4 s.
	e := newEnv(t, func(o *Options) { o.PublicRate = 0.25 })
	e.from("198.51.100.1:1", "/api/v1/summary")
	w := e.from("198.51.100.1:1", "/api/v1/summary")
	expectError(t, w, http.StatusTooManyRequests, "rate_limited")
	if got := w.Header().Get("Retry-After"); got != "4" {
		t.Errorf("Retry-After %q, want 4", got)
	}
}

func TestRateLimitBehindTrustedProxy(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PublicRate = 1; o.TrustedProxies = []string{"192.0.2.0/24"} })
	const proxy = "192.0.2.10:8000"
	for i := range 2 {
		if w := e.from(proxy, "/api/v1/summary", "X-Forwarded-For", "203.0.113.7"); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	expectError(t, e.from(proxy, "/api/v1/summary", "X-Forwarded-For", "203.0.113.7"), 429, "rate_limited")
	// The proxy itself is not the client: another forwarded client passes.
	if w := e.from(proxy, "/api/v1/summary", "X-Forwarded-For", "203.0.113.8"); w.Code != 200 {
		t.Errorf("another client behind the proxy: %d, want 200", w.Code)
	}
	// An untrusted peer's X-Forwarded-For is ignored: its own address counts.
	const peer = "198.51.100.9:1"
	e.from(peer, "/api/v1/summary", "X-Forwarded-For", "1.1.1.1")
	e.from(peer, "/api/v1/summary", "X-Forwarded-For", "1.1.1.2")
	expectError(t, e.from(peer, "/api/v1/summary", "X-Forwarded-For", "1.1.1.3"), 429, "rate_limited")
}

func TestIPLimiterEvictsIdleClients(t *testing.T) {
	clk := &clock{now: t0}
	l := newIPLimiter(10, clk.Now)
	for i := range 1000 {
		if ok, _ := l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256)); !ok {
			t.Fatal("a new client was limited")
		}
	}
	if n := l.size(); n != 1000 {
		t.Fatalf("%d clients tracked, want 1000", n)
	}
	clk.Set(t0.Add(limiterSweepEvery + time.Second))
	l.allow("10.9.9.9")
	if n := l.size(); n != 1 {
		t.Errorf("after a minute idle %d clients tracked, want 1 (the new one)", n)
	}
}

func TestIPLimiterCapsClients(t *testing.T) {
	clk := &clock{now: t0}
	l := newIPLimiter(1, clk.Now)
	for i := range maxLimitedClients + 10 {
		l.allow(strconv.Itoa(i))
	}
	if n := l.size(); n != maxLimitedClients {
		t.Errorf("%d clients tracked, want the cap %d", n, maxLimitedClients)
	}
}
