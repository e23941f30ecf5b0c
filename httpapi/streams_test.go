package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/internal/storetest"
)

// clientFrom returns an HTTP client whose connections come from the
// loopback address ip (127.0.0.2, …: all of 127/8 is loopback on Linux),
// as distinct clients would.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// streamAnswer is what opening an event stream got: the status, the error
// body of a refusal and its Retry-After, and for a stream its cancel.
type streamAnswer struct {
	status     int
	code       string
	retryAfter string
	close      func()
}

// openStream opens GET /api/v1/events on base with c and the headers; a
// 200 stream is read up to its first line (the handler holds its slot by
// then) and stays open until close or the test's end.
func openStream(t *testing.T, c *http.Client, base string, headers ...string) streamAnswer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	a := streamAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), close: cancel}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var body apiError
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("refused stream: %d without the JSON error: %v", resp.StatusCode, err)
		}
		a.code = body.Error.Code
		return a
	}
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("stream's first line %q, %v", line, err)
	}
	a.close = func() { cancel(); resp.Body.Close() }
	return a
}

// counterValue is the value of the counter name with the label value (or
// of the unlabelled counter) in reg; 0 if it has none.
func counterValue(t *testing.T, reg prometheus.Gatherer, name string, labelValue ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(labelValue) == 0 || len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == labelValue[0] {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestStreamLimits: at most EventMaxPerIP streams from one client address
// (429 rate_limited; a caller with a staff token is not limited per
// address) and EventMaxStreams in all (503 unavailable), each refusal with
// Retry-After and the JSON error, counted by reason in /metrics; the
// probes and the API answer meanwhile, and a stream that ends gives its
// slot back.
func TestStreamLimits(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.EventMaxStreams, o.EventMaxPerIP = 3, 2
		o.Checks = []Check{{Name: "redis", Func: func(context.Context) error { return nil }}}
	})
	srv := httptest.NewServer(e.router)
	t.Cleanup(srv.Close)
	a, c := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	for i := range 2 {
		if s := openStream(t, a, srv.URL); s.status != http.StatusOK {
			t.Fatalf("stream %d of 127.0.0.2: %d, want 200", i+1, s.status)
		}
	}
	if s := openStream(t, a, srv.URL); s.status != http.StatusTooManyRequests || s.code != "rate_limited" || s.retryAfter == "" {
		t.Errorf("a third stream from 127.0.0.2: %+v, want 429 rate_limited with Retry-After", s)
	}
	staff := openStream(t, a, srv.URL, "Authorization", "Bearer "+viewerToken)
	if staff.status != http.StatusOK {
		t.Fatalf("a staff stream from 127.0.0.2: %d, want 200 (not limited per address)", staff.status)
	}
	if s := openStream(t, c, srv.URL); s.status != http.StatusServiceUnavailable || s.code != "unavailable" || s.retryAfter == "" {
		t.Errorf("a fourth stream in all: %+v, want 503 unavailable with Retry-After", s)
	}
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/summary", "/api/v1/zones", "/metrics"} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s at the stream limit: %d, want 200", path, resp.StatusCode)
		}
	}
	if n := counterValue(t, e.prom, "parkd_events_refused_total", refusedMaxPerIP); n != 1 {
		t.Errorf("refused max_per_ip %v, want 1", n)
	}
	if n := counterValue(t, e.prom, "parkd_events_refused_total", refusedMaxStreams); n != 1 {
		t.Errorf("refused max_streams %v, want 1", n)
	}

	staff.close()
	storetest.Eventually(t, 5*time.Second, func() string {
		if s := openStream(t, c, srv.URL); s.status != http.StatusOK {
			return "the slot of a closed stream is not free"
		}
		return ""
	})
}

// TestStreamLimitsBehindAProxy: behind a trusted proxy the client address
// is the forwarded one, so two clients of the same proxy have a limit each.
func TestStreamLimitsBehindAProxy(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.EventMaxPerIP = 1
		o.TrustedProxies = []string{"127.0.0.1"}
	})
	srv := httptest.NewServer(e.router)
	t.Cleanup(srv.Close)
	c := clientFrom("127.0.0.1")
	if s := openStream(t, c, srv.URL, "X-Forwarded-For", "203.0.113.5"); s.status != http.StatusOK {
		t.Fatalf("203.0.113.5's stream: %d", s.status)
	}
	if s := openStream(t, c, srv.URL, "X-Forwarded-For", "203.0.113.5"); s.status != http.StatusTooManyRequests {
		t.Errorf("203.0.113.5's second stream: %d, want 429", s.status)
	}
	if s := openStream(t, c, srv.URL, "X-Forwarded-For", "203.0.113.6"); s.status != http.StatusOK {
		t.Errorf("203.0.113.6's stream through the same proxy: %d, want 200", s.status)
	}
}
