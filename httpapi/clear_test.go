package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// postRaw sends POST target with body as it is, the given Content-Type
// ("" for none) and the operator token.
func (e *env) postRaw(t *testing.T, target, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	return w
}

// TestJSONBodies: a body must be one JSON value sent as application/json,
// under the size limit, with text fields free of control characters; each
// refusal says what is wrong, and none changes the space.
func TestJSONBodies(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxBodyBytes = 1 << 10 })
	const close = "/api/v1/spaces/ZA-01/close"
	tests := []struct {
		name, target, ctype, body string
		status                    int
		code, word                string
	}{
		{"over the limit", close, "application/json", `{"reason":"` + strings.Repeat("x", 2000) + `"}`, 413, "too_large", "1024 bytes"},
		{"over the limit, not JSON", close, "application/json", strings.Repeat("x", 2000), 413, "too_large", "1024"},
		{"no content type", close, "", `{"reason":"works"}`, 415, "unsupported_media_type", "application/json"},
		{"form", close, "application/x-www-form-urlencoded", "reason=works", 415, "unsupported_media_type", "x-www-form-urlencoded"},
		{"text", close, "text/plain", `{"reason":"works"}`, 415, "unsupported_media_type", "text/plain"},
		{"trailing value", close, "application/json", `{"reason":"works"}{"reason":"again"}`, 400, "invalid", "more data"},
		{"trailing garbage", close, "application/json", `{"reason":"works"} x`, 400, "invalid", "more data"},
		{"NUL in the reason", close, "application/json", `{"reason":"pipe\u0000burst"}`, 400, "invalid", "U+0000"},
		{"newline in the reason", close, "application/json", `{"reason":"two\nlines"}`, 400, "invalid", "U+000A"},
		{"escape in the reason", close, "application/json", `{"reason":"\u001b[31mred"}`, 400, "invalid", "U+001B"},
		{"bidi override in the reason", close, "application/json", `{"reason":"\u202egnikrap"}`, 400, "invalid", "U+202E"},
		{"NUL in a note", "/api/v1/incidents/overstay.ZA-01.1/ack", "application/json", `{"note":"a\u0000b"}`, 400, "invalid", "note"},
		{"note over the limit", "/api/v1/incidents/overstay.ZA-01.1/ack", "application/json", `{"note":"` + strings.Repeat("x", 1100) + `"}`, 413, "too_large", "1024"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectError(t, e.postRaw(t, tc.target, tc.ctype, tc.body), tc.status, tc.code, tc.word)
		})
	}
	t.Run("over the limit, length unstated", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, close, nil)
		req.Body = io.NopCloser(strings.NewReader(`{"reason":"` + strings.Repeat("x", 2000) + `"}`))
		req.ContentLength = -1 // as with Transfer-Encoding: chunked
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+operatorToken)
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, req)
		expectError(t, w, 413, "too_large", "1024 bytes")
	})
	var sp spaceOut
	if e.get(t, "/api/v1/spaces/ZA-01", 200, &sp); sp.Status != "unknown" {
		t.Fatalf("a refused close changed the space to %s", sp.Status)
	}
	// What passes: a charset parameter, a trailing newline; a note on
	// lines; an empty note body whatever its content type.
	if w := e.postRaw(t, close, "application/json; charset=utf-8", "{\"reason\":\"水管维修\"}\n"); w.Code != 200 {
		t.Fatalf("close: %d %s", w.Code, w.Body)
	}
	for _, body := range []string{`{"note":"line one\n\tline two"}`, ""} {
		w := e.postRaw(t, "/api/v1/incidents/overstay.ZA-01.1/ack", "application/json", body)
		expectError(t, w, 404, "not_found") // the body passed; there is no such incident
	}
}

// TestUnknownQueryParameters: a parameter an endpoint does not document
// is refused, named, with the ones it takes, on public, staff and open
// data endpoints alike.
func TestUnknownQueryParameters(t *testing.T) {
	e := newEnv(t)
	e.bearer = adminToken
	tests := []struct{ method, target, words string }{
		{"GET", "/api/v1/spaces?zon=ZA", `"zon"|zone, status, limit, cursor`},
		{"GET", "/api/v1/summary?verbose=1", `"verbose"|takes none`},
		{"GET", "/api/v1/nearby?lat=29.85&lon=121.64&radius=300", `"radius"|radius_m`},
		{"GET", "/api/v1/zones/ZA?x=1", `"x"`},
		{"GET", "/api/v1/sensors?healt=offline", `"healt"|health, zone`},
		{"GET", "/api/v1/events?last_event=1", `"last_event"|last_event_id`},
		{"GET", "/ngsi-ld/v1/entities?type=ParkingSpot&limt=3", `"limt"|type, limit, offset, count`},
		{"POST", "/api/v1/admin/check?repiar=true", `"repiar"|repair`},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			expectError(t, e.do(t, tc.method, tc.target), 400, "invalid", strings.Split(tc.words, "|")...)
		})
	}
	// Documented ones pass.
	e.get(t, "/api/v1/spaces?zone=ZA&status=unknown&limit=2", 200, nil)
	e.get(t, "/ngsi-ld/v1/entities?type=ParkingSpot&limit=1", 200, nil)
}

// TestSpacesCursor: a cursor must be a next_cursor of the listing; garbage,
// or a space of another zone, is a 400 rather than a restart at page 1.
func TestSpacesCursor(t *testing.T) {
	e := newEnv(t)
	var page struct {
		Spaces     []spaceOut `json:"spaces"`
		NextCursor *string    `json:"next_cursor"`
	}
	e.get(t, "/api/v1/spaces?zone=ZA&limit=2", 200, &page)
	if page.NextCursor == nil || *page.NextCursor != "ZA-02" {
		t.Fatalf("first page's next_cursor %v, want ZA-02", page.NextCursor)
	}
	e.get(t, "/api/v1/spaces?zone=ZA&limit=2&cursor=ZA-02", 200, &page)
	if len(page.Spaces) != 2 || page.Spaces[0].ID != "ZA-03" {
		t.Fatalf("second page %+v, want ZA-03 first", page.Spaces)
	}
	for _, cursor := range []string{"garbage", "!!!", "ZA-99", "ZB-01"} {
		w := e.do(t, http.MethodGet, "/api/v1/spaces?zone=ZA&limit=2&cursor="+cursor)
		expectError(t, w, 400, "invalid", "cursor", cursor)
	}
	e.get(t, "/api/v1/spaces?limit=2&cursor=ZB-01", 200, nil) // without zone, any space of the registry
}
