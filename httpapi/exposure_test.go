package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestPublicAnswersHideSensorHealth: the battery and temperature of a
// sensor (and the rest of its health) are in staff answers only, in every
// answer that carries a space.
func TestPublicAnswersHideSensorHealth(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "ZA-01", false, t0.Add(-time.Second)) // battery 3600
	for _, target := range []string{"/api/v1/spaces/ZA-01", "/api/v1/spaces?zone=ZA",
		"/api/v1/nearby?lat=29.85&lon=121.64&radius_m=100"} {
		e.bearer = ""
		if body := e.get(t, target, 200, nil).Body.String(); strings.Contains(body, "battery_mv") {
			t.Errorf("public %s shows the battery: %s", target, body)
		}
		e.bearer = viewerToken
		if body := e.get(t, target, 200, nil).Body.String(); !strings.Contains(body, `"battery_mv":3600`) {
			t.Errorf("staff %s lacks the battery: %s", target, body)
		}
	}
}

// TestMetricsAccess: /metrics behind a token, and off the API's router.
func TestMetricsAccess(t *testing.T) {
	const token = "metrics-5b1d0c9e8f7a6b5c4d3e2f1a0b9c8d7e"
	e := newEnv(t, func(o *Options) { o.MetricsToken = token })
	for _, bearer := range []string{"", viewerToken, "wrong-" + token} {
		e.bearer = bearer
		expectError(t, e.do(t, http.MethodGet, "/metrics"), 401, "unauthorized", "metrics token")
	}
	e.bearer = token
	if body := e.get(t, "/metrics", 200, nil).Body.String(); !strings.Contains(body, "parkd_http_requests_total") {
		t.Errorf("/metrics with its token: %s", body)
	}

	e = newEnv(t, func(o *Options) { o.NoMetrics = true })
	expectError(t, e.do(t, http.MethodGet, "/metrics"), 404, "not_found")
	w := httptest.NewRecorder()
	MetricsHandler(e.prom, "").ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "parkd_http_requests_total") {
		t.Errorf("MetricsHandler on its own: %d %s", w.Code, w.Body)
	}
}
