package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// unmatchedRoute labels requests that matched no route, so scans of random
// paths add no series.
const unmatchedRoute = "unmatched"

// httpMetrics are the HTTP server's Prometheus metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// eventsRefused counts the event streams refused at a limit, by
	// reason: max_streams or max_per_ip (streams.go).
	eventsRefused *prometheus.CounterVec
	// eventResets counts the reset events sent to resuming streams.
	eventResets prometheus.Counter
}

// newHTTPMetrics registers the metrics with reg, or reuses the ones a
// previous router registered there.
func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parkd_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parkd_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	m.eventsRefused = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parkd_events_refused_total",
		Help: "Live event streams refused at a limit, by reason: max_streams (PARKD_EVENTS_MAX_STREAMS) or max_per_ip (PARKD_EVENTS_MAX_PER_IP).",
	}, []string{"reason"}))
	for _, r := range []string{refusedMaxStreams, refusedMaxPerIP} {
		m.eventsRefused.WithLabelValues(r) // shown at 0 before the first refusal
	}
	m.eventResets = register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parkd_events_resets_total",
		Help: "Reset events sent to streams resuming from a position older than the replay bound: their clients reload their view.",
	}))
	return m
}

// register registers c with reg and returns it, or the collector already
// registered under the same name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("httpapi: register metrics: " + err.Error())
	}
	return c
}

// metricsMiddleware counts and times every request by its route template
// (never the raw path, which would let clients create series at will).
func metricsMiddleware(m *httpMetrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = unmatchedRoute
		}
		m.requests.WithLabelValues(route, methodLabel(c.Request.Method), strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// MetricsHandler serves the Prometheus text of g: GET /metrics. With a
// token, only a request bearing it ("Authorization: Bearer TOKEN") is
// answered; any other gets 401 in the service's error shape. Router
// mounts it, or, with Options.NoMetrics, a caller serves it on a listener
// of its own.
func MetricsHandler(g prometheus.Gatherer, token string) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		d := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(d[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parkd metrics"`)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(errorBody{Error: errorJSON{Code: eUnauthorized,
				Message: "the metrics token is required (Authorization: Bearer …)"}})
			return
		}
		h.ServeHTTP(w, r)
	})
}
