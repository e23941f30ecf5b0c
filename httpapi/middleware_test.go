package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.get(t, "/api/v1/spaces/ZA-01", 200, nil)
	e.get(t, "/api/v1/spaces/ZA-02", 200, nil)
	e.get(t, "/api/v1/spaces/NOPE", 404, nil)
	e.get(t, "/no/such/path/1", 404, nil)
	e.get(t, "/no/such/path/2", 404, nil)
	e.do(t, "BREW", "/api/v1/zones")

	w := e.get(t, "/metrics", 200, nil)
	body := w.Body.String()
	for _, want := range []string{
		`parkd_http_requests_total{code="200",method="GET",route="/api/v1/spaces/:id"} 2`,
		`parkd_http_requests_total{code="404",method="GET",route="/api/v1/spaces/:id"} 1`,
		`parkd_http_requests_total{code="404",method="GET",route="unmatched"} 2`,
		`parkd_http_requests_total{code="405",method="OTHER",route="unmatched"} 1`,
		`parkd_http_request_duration_seconds_count{route="/api/v1/spaces/:id"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, raw := range []string{"ZA-01", "/no/such/path", "BREW"} {
		if strings.Contains(body, raw) {
			t.Errorf("/metrics holds the raw %q: labels must be route templates", raw)
		}
	}
}

// TestMetricsRegistryShared builds two routers on one registry, as a
// restart of the HTTP layer in one process would.
func TestMetricsRegistryShared(t *testing.T) {
	e := newEnv(t)
	r2 := NewRouter(Options{Store: e.store, Zones: e.store, Registry: e.reg, Gatherer: e.prom, Registerer: e.prom})
	w := httptest.NewRecorder()
	r2.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	e.get(t, "/healthz", 200, nil)
	body := e.get(t, "/metrics", 200, nil).Body.String()
	want := `parkd_http_requests_total{code="200",method="GET",route="/healthz"} 2`
	if !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s: both routers count into one series", want)
	}
}

// TestRequestLog: with LogRequests, one line per request at INFO, probes
// at DEBUG.
func TestRequestLog(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.LogRequests = true })
	req := httptest.NewRequest("GET", "/api/v1/nearby?lat=29.85&lon=121.64", nil)
	req.RemoteAddr = "192.0.2.7:5555"
	req.Header.Set("X-Forwarded-For", "203.0.113.9") // not trusted by default
	e.router.ServeHTTP(httptest.NewRecorder(), req)
	e.get(t, "/healthz", 200, nil)

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %s: %v", sc.Text(), err)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("request log lines %v, want 2", lines)
	}
	api, health := lines[0], lines[1]
	want := map[string]any{"level": "INFO", "method": "GET", "path": "/api/v1/nearby",
		"route": "/api/v1/nearby", "status": float64(200), "client_ip": "192.0.2.7", "component": "http"}
	for k, v := range want {
		if api[k] != v {
			t.Errorf("log %s = %v, want %v (line %v)", k, api[k], v, api)
		}
	}
	if _, ok := api["duration"]; !ok {
		t.Errorf("log has no duration: %v", api)
	}
	if strings.Contains(e.logs.String(), "121.64") {
		t.Error("the log holds the query string (a driver's location)")
	}
	if health["level"] != "DEBUG" {
		t.Errorf("/healthz logged at %v, want DEBUG", health["level"])
	}
}

// TestRequestLogQuiet: by default requests are logged at DEBUG only, a
// 5xx at WARN; with LogRequests, a 429 is still not logged at INFO but
// counted in /metrics.
func TestRequestLogQuiet(t *testing.T) {
	levels := func(e *env) map[string]string { // path -> level of its request line
		out := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("log line %s: %v", sc.Text(), err)
			}
			if m["msg"] == "request" {
				out[fmt.Sprint(m["path"], " ", m["status"])] = fmt.Sprint(m["level"])
			}
		}
		return out
	}
	e := newEnv(t)
	e.get(t, "/api/v1/summary", 200, nil)
	if got := levels(e); got["/api/v1/summary 200"] != "DEBUG" {
		t.Errorf("default request log levels %v, want the summary at DEBUG", got)
	}

	e = newEnv(t, func(o *Options) { o.LogRequests, o.PublicRate = true, 1 })
	for range 3 { // burst 2: the third is refused
		e.do(t, http.MethodGet, "/api/v1/summary")
	}
	got := levels(e)
	if got["/api/v1/summary 200"] != "INFO" || got["/api/v1/summary 429"] != "DEBUG" {
		t.Errorf("request log levels %v, want 200 at INFO and 429 at DEBUG", got)
	}
	body := e.get(t, "/metrics", 200, nil).Body.String()
	if want := `parkd_http_requests_total{code="429",method="GET",route="/api/v1/summary"} 1`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

func TestRejected(t *testing.T) {
	e := newEnv(t)
	e.bearer = viewerToken
	ctx := context.Background()
	for i, reason := range []string{"first", "second", "third"} {
		err := e.store.AddDeadLetter(ctx, occupancy.DeadLetter{
			ReceivedAt: t0.Add(time.Duration(i) * time.Second), Topic: "parking/v1/sensors/X/up",
			Result: "invalid", Reason: reason, Payload: "{"})
		if err != nil {
			t.Fatal(err)
		}
	}
	var got struct {
		Rejected []struct {
			ID         string `json:"id"`
			ReceivedAt string `json:"received_at"`
			Topic      string `json:"topic"`
			Result     string `json:"result"`
			Reason     string `json:"reason"`
			Payload    string `json:"payload"`
		} `json:"rejected"`
	}
	e.get(t, "/api/v1/ingest/rejected?limit=2", http.StatusOK, &got)
	if len(got.Rejected) != 2 || got.Rejected[0].Reason != "third" || got.Rejected[1].Reason != "second" {
		t.Fatalf("rejected %+v, want third and second, newest first", got.Rejected)
	}
	r := got.Rejected[0]
	if r.ID == "" || r.ReceivedAt != ts(t0.Add(2*time.Second)) || r.Topic != "parking/v1/sensors/X/up" ||
		r.Result != "invalid" || r.Payload != "{" {
		t.Errorf("rejected[0] %+v", r)
	}
	e.get(t, "/api/v1/ingest/rejected", http.StatusOK, &got)
	if len(got.Rejected) != 3 {
		t.Errorf("default limit listed %d, want all 3", len(got.Rejected))
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=all"} {
		expectError(t, e.do(t, "GET", "/api/v1/ingest/rejected?"+q), http.StatusBadRequest, "invalid", "limit")
	}
}

func TestTrustedProxies(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.TrustedProxies = []string{"192.0.2.0/24"} })
	req := httptest.NewRequest("GET", "/api/v1/summary", nil)
	req.RemoteAddr = "192.0.2.7:5555"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	e.router.ServeHTTP(httptest.NewRecorder(), req)
	if !strings.Contains(e.logs.String(), `"client_ip":"203.0.113.9"`) {
		t.Errorf("a trusted proxy's X-Forwarded-For was not used:\n%s", e.logs)
	}
}

func TestOptionsNotAllowed(t *testing.T) {
	e := newEnv(t)
	w := e.do(t, http.MethodOptions, "/api/v1/summary")
	expectError(t, w, http.StatusMethodNotAllowed, "method_not_allowed", "OPTIONS")
}
