package httpapi

import (
	"context"
	"errors"
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

// TestRedisDownIsUnavailable stops Redis under the router (which reads
// the store directly here: no memory to answer from): every store call
// fails, and the client gets 503 unavailable with Retry-After, without the
// Redis detail, not a 500. Each request carries a short deadline, as a
// client or proxy timeout would, so the store's dial retries end quickly.
func TestRedisDownIsUnavailable(t *testing.T) {
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
			got := expectError(t, w, http.StatusServiceUnavailable, "unavailable")
			if strings.Contains(got.Error.Message, "127.0.0.1") || strings.Contains(got.Error.Message, "redis") {
				t.Errorf("message %q leaks detail", got.Error.Message)
			}
			if w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

// TestInternalError: an error without a code (a bug, not an outage) is a
// 500 "internal error" for the client, and logged with its cause.
func TestInternalError(t *testing.T) {
	e := newEnv(t)
	e.router.GET("/api/v1/broken", func(c *gin.Context) { fail(c, errors.New("redis store: corrupt state of ZA-01")) })
	got := expectError(t, e.do(t, "GET", "/api/v1/broken"), http.StatusInternalServerError, "internal")
	if got.Error.Message != "internal error" {
		t.Errorf("message %q leaks detail; want %q", got.Error.Message, "internal error")
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"msg":"request failed"`) || !strings.Contains(logs, "corrupt state of ZA-01") {
		t.Errorf("the internal error was not logged with its cause:\n%s", logs)
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
