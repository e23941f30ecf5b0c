package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestErrorShape(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, target string
		status               int
		code                 string
		words                []string
	}{
		{"unknown path", "GET", "/api/v1/nope", 404, "not_found", []string{"/api/v1/nope"}},
		{"unknown root path", "GET", "/favicon.ico", 404, "not_found", nil},
		{"unknown space", "GET", "/api/v1/spaces/ZA-99", 404, "not_found", []string{"ZA-99"}},
		{"unknown zone", "GET", "/api/v1/zones/ZZ", 404, "not_found", []string{"ZZ"}},
		{"POST to a GET route", "POST", "/api/v1/zones", 405, "method_not_allowed", []string{"POST", "GET"}},
		{"DELETE a space", "DELETE", "/api/v1/spaces/ZA-01", 405, "method_not_allowed", []string{"DELETE"}},
		{"bad parameter", "GET", "/api/v1/nearby?lat=x&lon=1", 400, "invalid", []string{"lat"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, tc.method, tc.target)
			expectError(t, w, tc.status, tc.code, tc.words...)
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if tc.status == 405 && w.Header().Get("Allow") != "GET" {
				t.Errorf("Allow %q, want GET", w.Header().Get("Allow"))
			}
		})
	}
}

// TestInternalError stops Redis under the router: every store call fails,
// and the client gets 500 "internal error" without the Redis detail, which
// is logged instead. Each request carries a short deadline, as a client
// or proxy timeout would, so the store's dial retries end quickly.
func TestInternalError(t *testing.T) {
	e := newEnv(t)
	e.bearer = viewerToken // /ingest/rejected is for staff
	e.redis.Stop(t)
	for _, target := range []string{"/api/v1/summary", "/api/v1/zones", "/api/v1/zones/ZA",
		"/api/v1/spaces/ZA-01", "/api/v1/spaces", "/api/v1/nearby?lat=29.85&lon=121.64",
		"/api/v1/ingest/rejected"} {
		t.Run(target, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			w := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(ctx, "GET", target, nil)
			req.Header.Set("Authorization", "Bearer "+e.bearer)
			e.router.ServeHTTP(w, req)
			got := expectError(t, w, http.StatusInternalServerError, "internal")
			if got.Error.Message != "internal error" {
				t.Errorf("message %q leaks detail; want %q", got.Error.Message, "internal error")
			}
		})
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"msg":"request failed"`) || !strings.Contains(logs, "redis store") {
		t.Errorf("internal errors were not logged with their cause:\n%s", logs)
	}
}

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t)
	e.router.GET("/api/v1/boom", func(*gin.Context) { panic("boom") })
	w := e.do(t, "GET", "/api/v1/boom")
	got := expectError(t, w, http.StatusInternalServerError, "internal")
	if got.Error.Message != "internal error" {
		t.Errorf("message %q, want %q", got.Error.Message, "internal error")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "panic: boom") || !strings.Contains(logs, "stack") {
		t.Errorf("the panic was not logged with its stack:\n%s", logs)
	}
	// The router still serves after a panic.
	e.get(t, "/healthz", http.StatusOK, nil)
}
