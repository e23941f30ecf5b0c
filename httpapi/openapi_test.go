package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/qiuai/parking/occupancy"
)

// spec is the OpenAPI document as the router serves it, checked and ready
// to validate answers.
type spec struct {
	doc    *openapi3.T
	router routers.Router

	mu      sync.Mutex
	covered map[string]bool // "GET /path" of every operation a test validated
}

// loadSpec fetches /api/openapi.json from e's router and validates it.
func loadSpec(t *testing.T, e *env) *spec {
	t.Helper()
	w := e.get(t, "/api/openapi.json", http.StatusOK, nil)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("openapi.json Content-Type %q", ct)
	}
	doc, err := openapi3.NewLoader().LoadFromData(w.Body.Bytes())
	if err != nil {
		t.Fatalf("load the served document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &spec{doc: doc, router: r, covered: map[string]bool{}}
}

// check validates an answer (status, headers, body) against the operation
// of req in the document; an undocumented status fails.
func (s *spec) check(t *testing.T, req *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: not in the document: %v", req.Method, req.URL, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 w.Code,
		Header:                 w.Header(),
		Body:                   io.NopCloser(bytes.NewReader(w.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match the document: %v\nbody: %.600s", req.Method, req.URL, w.Code, err, w.Body)
	}
	s.mu.Lock()
	s.covered[req.Method+" "+route.Path] = true
	s.mu.Unlock()
}

// call sends a GET (or "METHOD target") with an optional bearer token, expects status want and
// validates the answer.
func (s *spec) call(t *testing.T, e *env, target, token string, want int) *httptest.ResponseRecorder {
	t.Helper()
	method := http.MethodGet
	if m, rest, ok := strings.Cut(target, " "); ok {
		method, target = m, rest
	}
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	if w.Code != want {
		t.Fatalf("GET %s: %d, want %d; body %.300s", target, w.Code, want, w.Body)
	}
	s.check(t, req, w)
	return w
}

// checkError validates an error answer of a path or method the document
// does not list against its Error schema.
func (s *spec) checkError(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	var body any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if err := s.doc.Components.Schemas["Error"].Value.VisitJSON(body); err != nil {
		t.Errorf("%d %s does not match the Error schema: %v", w.Code, w.Body, err)
	}
}

// TestOpenAPI checks real answers of every endpoint, errors included,
// against the served document, and that every documented operation was
// exercised.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Checks = []Check{{Name: "redis", Func: func(ctx context.Context) error { return nil }}}
		o.RegistryLoader = func() (*occupancy.Registry, error) { return loadRegistry(t), nil }
	})
	s := loadSpec(t, e)
	nearbyState(t, e)
	historyState(t, e)
	if err := e.store.AddDeadLetter(context.Background(), occupancy.DeadLetter{ReceivedAt: t0,
		Topic: "parking/v1/sensors/X/up", Result: "unknown_sensor", Reason: "no such sensor", Payload: `{"occupied":true}`}); err != nil {
		t.Fatal(err)
	}
	ok := []struct {
		target, token string
		want          int
	}{
		{"/api/v1/summary", "", 200},
		{"/api/v1/zones", "", 200},
		{"/api/v1/zones/ZA", "", 200},
		{"/api/v1/zones/NOPE", "", 404},
		{"/api/v1/spaces?limit=2", "", 200},
		{"/api/v1/spaces?zone=ZB&status=unknown", "", 200},
		{"/api/v1/spaces?status=parked", "", 400},
		{"/api/v1/spaces/ZA-01", "", 200},
		{"/api/v1/spaces/ZB-03", "", 200}, // never heard from: null times
		{"/api/v1/spaces/NOPE", "", 404},
		{"/api/v1/nearby?lat=29.85&lon=121.64", "", 200},
		{"/api/v1/nearby?lat=29.85&lon=121.64&zone_type=off_street", "", 200}, // nearest zones
		{"/api/v1/nearby?lat=29.85&lon=121.64&kind=ev&zone_type=on_street", "", 200},
		{"/api/v1/nearby?lat=95&lon=121.64", "", 400},
		{"/api/v1/zones/ZA/history", "", 200},
		{"/api/v1/zones/ZA/history?from=2026-11-25T07:00:00Z&to=2026-11-25T09:00:00Z&step=1h", "", 200},
		{"/api/v1/zones/ZA/history?step=7m", "", 400},
		{"/api/v1/zones/NOPE/history", "", 404},
		{"/api/v1/history?step=15m", "", 200},
		{"/api/v1/zones/ZA/forecast?at=2026-11-25T09:00:00Z", "", 200}, // from last week's bucket
		{"/api/v1/zones/ZB/forecast?at=2026-11-25T09:00:00Z", "", 200}, // no history: current
		{"/api/v1/zones/ZA/forecast", "", 400},
		{"/api/v1/zones/NOPE/forecast?at=2026-11-25T09:00:00Z", "", 404},
		{"/api/v1/forecast?at=2026-11-25T09:00:00Z", "", 200},
		{"/api/v1/events?last_event_id=bogus", "", 400}, // 200 streams: events_test.go
		{"/api/v1/ingest/rejected", viewerToken, 200},
		{"/api/v1/ingest/rejected?limit=0", viewerToken, 400},
		{"/api/v1/ingest/rejected", "", 401},
		{"/api/v1/ingest/rejected", "wrong-token-0123456789", 401},
		{"/ngsi-ld/v1/entities?type=ParkingSpot&count=true", "", 200},
		{"/ngsi-ld/v1/entities?type=OnStreetParking", "", 200},
		{"/ngsi-ld/v1/entities?type=OffStreetParking&limit=1&offset=0", "", 200},
		{"/ngsi-ld/v1/entities?type=Vehicle", "", 400},
		{"/ngsi-ld/v1/entities", "", 400},
		{"/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:ZA-02", "", 200},
		{"/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:ZB", "", 200},
		{"/ngsi-ld/v1/entities/urn:ngsi-ld:OnStreetParking:ZB", "", 404},
		{"/ngsi-ld/v1/entities/ZA-02", "", 400},
		{"/api/openapi.json", "", 200},
		{"POST /api/v1/admin/check", adminToken, 200},
		{"POST /api/v1/admin/check?repair=true", adminToken, 200},
		{"POST /api/v1/admin/check?repair=maybe", adminToken, 400},
		{"POST /api/v1/admin/check", operatorToken, 403},
		{"POST /api/v1/admin/check", "", 401},
		{"POST /api/v1/admin/registry/reload?dry_run=true", adminToken, 200},
		{"POST /api/v1/admin/registry/reload?confirm_remove=-1", adminToken, 400},
		{"POST /api/v1/admin/registry/reload", adminToken, 202},
		{"/api/v1/admin/registry/reload/jobs/nope", adminToken, 404},
		{"POST /api/v1/admin/registry/reload", operatorToken, 403},
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/metrics", "", 200},
	}
	for _, tc := range ok {
		t.Run(tc.target, func(t *testing.T) { s.call(t, e, tc.target, tc.token, tc.want) })
	}

	t.Run("a reload job", func(t *testing.T) {
		e.bearer = adminToken
		loc := e.do(t, http.MethodPost, "/api/v1/admin/registry/reload").Header().Get("Location")
		e.bearer = ""
		s.call(t, e, loc, adminToken, 200)
	})

	t.Run("paths and methods outside the document", func(t *testing.T) {
		s.checkError(t, expectErrorW(t, e.do(t, http.MethodGet, "/api/v1/nowhere"), 404))
		s.checkError(t, expectErrorW(t, e.do(t, http.MethodPost, "/api/v1/summary"), 405))
		e.bearer = viewerToken
		s.checkError(t, expectErrorW(t, e.do(t, http.MethodGet, "/api/v1/admin/x"), 403))
		e.bearer = ""
	})

	t.Run("NGSI-LD as plain JSON", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/ngsi-ld/v1/entities?type=ParkingSpot&limit=3", nil)
		req.Header.Set("Accept", "application/json")
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, req)
		s.check(t, req, w)
	})

	t.Run("readyz not ready", func(t *testing.T) {
		down := newEnv(t, func(o *Options) {
			o.Checks = []Check{{Name: "redis", Func: func(ctx context.Context) error { return io.EOF }}}
		})
		s.call(t, down, "/readyz", "", 503)
	})

	t.Run("rate limited", func(t *testing.T) {
		lim := newEnv(t, func(o *Options) { o.PublicRate = 1 })
		for _, target := range []string{"/api/v1/summary", "/api/v1/zones", "/api/v1/zones/ZA", "/api/v1/spaces",
			"/api/v1/spaces/ZA-01", "/api/v1/nearby?lat=29.85&lon=121.64", "/ngsi-ld/v1/entities?type=ParkingSpot",
			"/api/openapi.json"} {
			lim.clk.Set(lim.clk.Now().Add(time.Hour)) // a full bucket for each target
			lim.do(t, "GET", target)
			lim.do(t, "GET", target)
			s.call(t, lim, target, "", 429)
		}
	})

	t.Run("redis down", func(t *testing.T) {
		down := newEnv(t)
		down.redis.Stop(t)
		for _, target := range []string{"/api/v1/summary", "/api/v1/zones", "/api/v1/zones/ZA", "/api/v1/spaces",
			"/api/v1/spaces/ZA-01", "/api/v1/nearby?lat=29.85&lon=121.64", "/api/v1/ingest/rejected",
			"/ngsi-ld/v1/entities?type=ParkingSpot", "/ngsi-ld/v1/entities?type=OffStreetParking",
			"/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:ZA-01", "POST /api/v1/admin/check",
			"/api/v1/zones/ZA/history", "/api/v1/forecast?at=2026-11-25T09:00:00Z"} {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			method := "GET"
			if m, rest, ok := strings.Cut(target, " "); ok {
				method, target = m, rest
			}
			req := httptest.NewRequestWithContext(ctx, method, target, nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			w := httptest.NewRecorder()
			down.router.ServeHTTP(w, req)
			cancel()
			if w.Code != 503 {
				t.Errorf("%s with Redis down: %d, want 503", target, w.Code)
			}
			s.check(t, req, w)
		}
	})

	t.Run("closures", func(t *testing.T) { closureOpenAPICases(t, e, s) })

	t.Run("sensors and incidents", func(t *testing.T) { incidentOpenAPICases(t, s) })

	t.Run("pages and map", func(t *testing.T) { pagesOpenAPICases(t, e, s) }) // pages_test.go

	var missing []string
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			if !s.covered[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations no test validated: %v", missing)
	}
}

// expectErrorW checks the status and returns w, for schema checks.
func expectErrorW(t *testing.T, w *httptest.ResponseRecorder, status int) *httptest.ResponseRecorder {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	return w
}

// TestOpenAPIListsEveryRoute checks that every route the router serves is
// in the document, so a new endpoint cannot be added without it.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	e := newEnv(t)
	s := loadSpec(t, e)
	for _, r := range e.router.Routes() {
		path := r.Path
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
			}
		}
		item := s.doc.Paths.Find(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is served but not in openapi.yaml", r.Method, path)
		}
	}
}
