package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy/redisstore"
)

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	var got map[string]string
	e.get(t, "/healthz", http.StatusOK, &got)
	if got["status"] != "ok" || len(got) != 1 {
		t.Errorf("healthz %v, want {status: ok}", got)
	}
}

type readyOut struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// TestReadyz runs /readyz with staff credentials, which see what failed;
// TestReadyzPublic checks what everyone else sees.
func TestReadyz(t *testing.T) {
	pass := func(context.Context) error { return nil }
	tests := []struct {
		name       string
		checks     []Check
		stopRedis  bool
		wantStatus int
		want       readyOut
	}{
		{"no checks", nil, false, 200, readyOut{"ready", map[string]string{}}},
		{"all pass", []Check{{"registry", pass}, {"broker", pass}}, false, 200,
			readyOut{"ready", map[string]string{"registry": "ok", "broker": "ok"}}},
		{"one fails", []Check{{"registry", pass}, {"broker", func(context.Context) error {
			return errors.New("not connected")
		}}}, false, 503,
			readyOut{"not_ready", map[string]string{"registry": "ok", "broker": "not connected"}}},
		{"one hangs", []Check{{"slow", func(ctx context.Context) error {
			time.Sleep(5 * time.Second) // ignores ctx: the router must not wait
			return nil
		}}}, false, 503, readyOut{"not_ready", map[string]string{"slow": "no answer within 200ms"}}},
		{"one panics", []Check{{"bad", func(context.Context) error { panic("oops") }}}, false, 503,
			readyOut{"not_ready", map[string]string{"bad": "check panicked: oops"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.Checks, o.CheckTimeout = tc.checks, 200*time.Millisecond })
			e.bearer = viewerToken
			start := time.Now()
			var got readyOut
			e.get(t, "/readyz", tc.wantStatus, &got)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("readyz took %s", took)
			}
			if got.Status != tc.want.Status || len(got.Checks) != len(tc.want.Checks) {
				t.Fatalf("readyz %+v, want %+v", got, tc.want)
			}
			for k, v := range tc.want.Checks {
				if got.Checks[k] != v {
					t.Errorf("check %s: %q, want %q", k, got.Checks[k], v)
				}
			}
		})
	}
}

// TestReadyzRedisDown uses the store's own Ping as the check, as parkd does.
func TestReadyzRedisDown(t *testing.T) {
	var store *redisstore.Store
	e := newEnv(t, func(o *Options) {
		store = o.Store.(*redisstore.Store)
		o.Checks = []Check{{"redis", store.Ping}}
	})
	e.get(t, "/readyz", http.StatusOK, nil)
	e.redis.Stop(t)
	var got readyOut
	e.bearer = viewerToken
	e.get(t, "/readyz", http.StatusServiceUnavailable, &got)
	// Depending on the client's dial retries the ping fails or times out.
	if c := got.Checks["redis"]; got.Status != "not_ready" ||
		!strings.Contains(c, "redis store: ping") && !strings.Contains(c, "no answer within") {
		t.Errorf("readyz %+v, want not_ready with the ping's failure", got)
	}
	e.redis.Start(t)
	e.get(t, "/readyz", http.StatusOK, nil)
}

// TestReadyzPublic: without a staff token, /readyz says which check failed
// and nothing of what failed (no address, id or error text); a wrong token
// is no token.
func TestReadyzPublic(t *testing.T) {
	var store *redisstore.Store
	e := newEnv(t, func(o *Options) {
		store = o.Store.(*redisstore.Store)
		o.Checks = []Check{{"redis", store.Ping}, {"mqtt", func(context.Context) error {
			return errors.New("broker tcp://10.0.0.5:1883: sensor S-000001 not authorised")
		}}}
	})
	e.redis.Stop(t)
	for _, bearer := range []string{"", "wrong-1f0e2d3c4b5a69788796a5b4c3d2e1f0"} {
		e.bearer = bearer
		w := e.get(t, "/readyz", http.StatusServiceUnavailable, nil)
		var got readyOut
		decodeStrict(t, w.Body.Bytes(), &got)
		want := readyOut{"not_ready", map[string]string{"redis": "failed", "mqtt": "failed"}}
		if got.Status != want.Status || len(got.Checks) != 2 || got.Checks["redis"] != "failed" || got.Checks["mqtt"] != "failed" {
			t.Errorf("public readyz (bearer %q) = %+v, want %+v", bearer, got, want)
		}
		for _, leak := range []string{"127.0.0.1", "10.0.0.5", "S-000001", "dial", "ping"} {
			if strings.Contains(w.Body.String(), leak) {
				t.Errorf("public readyz shows %q: %s", leak, w.Body)
			}
		}
	}
}
