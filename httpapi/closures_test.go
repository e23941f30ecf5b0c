package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// closureOut mirrors closureJSON.
type closureOut struct {
	Target   string  `json:"target"`
	Zone     bool    `json:"zone"`
	Reason   string  `json:"reason"`
	Until    *string `json:"until"`
	ClosedAt string  `json:"closed_at"`
	By       string  `json:"by"`
}

type spaceClosureOut struct {
	Space   spaceOut    `json:"space"`
	Closure *closureOut `json:"closure"`
}

type zoneClosureOut struct {
	Zone    zoneOut     `json:"zone"`
	Closure *closureOut `json:"closure"`
}

// post sends POST target with a JSON body and a bearer token.
func (e *env) post(tb testing.TB, target, token, body string) (*http.Request, *httptest.ResponseRecorder) {
	tb.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(http.MethodPost, target, nil)
	} else {
		req = httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	return req, w
}

// closureCall posts, expects status want, and decodes a 200 into out.
func closureCall(t *testing.T, e *env, s *spec, target, token, body string, want int, out any) {
	t.Helper()
	req, w := e.post(t, target, token, body)
	if w.Code != want {
		t.Fatalf("POST %s %s: %d, want %d; body %s", target, body, w.Code, want, w.Body)
	}
	if want == http.StatusOK && out != nil {
		decodeStrict(t, w.Body.Bytes(), out)
	}
	if s != nil {
		req.Body = http.NoBody
		s.check(t, req, w)
	}
}

// closureOpenAPICases exercises every closure operation and its errors
// against the document; TestOpenAPI calls it.
func closureOpenAPICases(t *testing.T, e *env, s *spec) {
	until := `"` + ts(e.clk.Now().Add(time.Hour)) + `"`
	cases := []struct {
		target, token, body string
		want                int
	}{
		{"/api/v1/spaces/ZA-03/close", operatorToken, `{"reason":"works","until":` + until + `}`, 200},
		{"/api/v1/spaces/ZA-03/close", adminToken, `{"reason":"works"}`, 200},
		{"/api/v1/spaces/ZA-03/close", viewerToken, `{"reason":"works"}`, 403},
		{"/api/v1/spaces/ZA-03/close", "", `{"reason":"works"}`, 401},
		{"/api/v1/spaces/ZA-03/close", operatorToken, `{"reason":""}`, 400},
		{"/api/v1/spaces/NOPE/close", operatorToken, `{"reason":"x"}`, 404},
		{"/api/v1/spaces/ZA-03/open", operatorToken, "", 200},
		{"/api/v1/spaces/NOPE/open", operatorToken, "", 404},
		{"/api/v1/spaces/ZA-03/open", viewerToken, "", 403},
		{"/api/v1/spaces/ZA-03/open", "", "", 401},
		{"/api/v1/zones/ZB/close", operatorToken, `{"reason":"market","until":null}`, 200},
		{"/api/v1/spaces/ZB-01/open", operatorToken, "", 409},
		{"/api/v1/zones/ZB/close", operatorToken, `{"reason":"x","until":"2001-01-01T00:00:00Z"}`, 400},
		{"/api/v1/zones/NOPE/close", operatorToken, `{"reason":"x"}`, 404},
		{"/api/v1/zones/ZB/close", viewerToken, `{"reason":"x"}`, 403},
		{"/api/v1/zones/ZB/close", "", `{"reason":"x"}`, 401},
		{"/api/v1/zones/ZB/open", operatorToken, "", 200},
		{"/api/v1/zones/NOPE/open", operatorToken, "", 404},
		{"/api/v1/zones/ZB/open", viewerToken, "", 403},
		{"/api/v1/zones/ZB/open", "", "", 401},
	}
	for _, tc := range cases {
		closureCall(t, e, s, tc.target, tc.token, tc.body, tc.want, nil)
	}
}

func TestCloseSpaceAPI(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "ZA-01", false, t0)
	var before, after zoneOut
	e.get(t, "/api/v1/zones/ZA", 200, &before)

	var got spaceClosureOut
	closureCall(t, e, nil, "/api/v1/spaces/ZA-01/close", operatorToken,
		`{"reason":"road works","until":"2026-11-25T17:00:00+08:00"}`, 200, &got)
	if got.Space.Status != "closed" || got.Closure == nil {
		t.Fatalf("close answered %+v", got)
	}
	want := closureOut{Target: "ZA-01", Reason: "road works", Until: ptr("2026-11-25T09:00:00.000Z"),
		ClosedAt: ts(t0), By: "operator"}
	if c := *got.Closure; c.Target != want.Target || c.Zone || c.Reason != want.Reason || c.Until == nil ||
		*c.Until != *want.Until || c.ClosedAt != want.ClosedAt || c.By != want.By {
		t.Fatalf("closure %+v, want %+v", c, want)
	}
	e.get(t, "/api/v1/zones/ZA", 200, &after)
	if after.Free != before.Free-1 || after.Closed != before.Closed+1 {
		t.Fatalf("zone free/closed %d/%d before, %d/%d after: want one space moved from free to closed",
			before.Free, before.Closed, after.Free, after.Closed)
	}

	// The sensor goes on reporting; the space stays closed.
	e.apply(t, "ZA-01", true, t0.Add(10*time.Minute))
	e.clk.Set(t0.Add(50 * time.Minute)) // received then: not silent at until
	e.apply(t, "ZA-01", false, t0.Add(50*time.Minute))
	var sp spaceOut
	if e.get(t, "/api/v1/spaces/ZA-01", 200, &sp); sp.Status != "closed" {
		t.Fatalf("closed space reports %s after a free reading", sp.Status)
	}

	// It reopens by itself at until, with its sensor's last word.
	e.clk.Set(t0.Add(time.Hour))
	if n, err := e.store.ReopenDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("ReopenDue at until: %d, %v; want 1", n, err)
	}
	if e.get(t, "/api/v1/spaces/ZA-01", 200, &sp); sp.Status != "free" {
		t.Fatalf("space reports %s after its until, want free", sp.Status)
	}
}

func TestCloseSpaceAPIRefusesBadBodies(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ name, body, word string }{
		{"empty", "", "reason"},
		{"not JSON", "reason=x", "body"},
		{"unknown field", `{"reason":"x","why":"y"}`, "why"},
		{"no reason", `{"until":null}`, "reason"},
		{"until not a time", `{"reason":"x","until":"tomorrow"}`, "body"},
		{"until in the past", `{"reason":"x","until":"2026-11-25T07:59:59Z"}`, "until"},
		{"reason too long", `{"reason":"` + strings.Repeat("x", 501) + `"}`, "reason"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, w := e.post(t, "/api/v1/spaces/ZA-01/close", operatorToken, tc.body)
			expectError(t, w, 400, "invalid", tc.word)
		})
	}
	var sp spaceOut
	if e.get(t, "/api/v1/spaces/ZA-01", 200, &sp); sp.Status != "unknown" {
		t.Fatalf("a refused close changed the space to %s", sp.Status)
	}
}

func TestCloseZoneAPI(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "ZB-01", false, t0)
	e.apply(t, "ZB-02", true, t0)
	var got zoneClosureOut
	closureCall(t, e, nil, "/api/v1/zones/ZB/close", operatorToken, `{"reason":"market day"}`, 200, &got)
	if got.Zone.Closed != got.Zone.Total || got.Zone.Free != 0 || got.Zone.Total != 3 {
		t.Fatalf("closed zone counts %+v, want all 3 closed", got.Zone.countsOut)
	}
	if got.Closure == nil || !got.Closure.Zone || got.Closure.Target != "ZB" || got.Closure.Until != nil {
		t.Fatalf("zone closure %+v", got.Closure)
	}
	_, w := e.post(t, "/api/v1/spaces/ZB-01/open", operatorToken, "")
	expectError(t, w, 409, "conflict", "ZB")
	closureCall(t, e, nil, "/api/v1/zones/ZB/open", operatorToken, "", 200, &got)
	if got.Closure != nil || got.Zone.Closed != 0 || got.Zone.Free != 1 || got.Zone.Occupied != 1 || got.Zone.Unknown != 1 {
		t.Fatalf("reopened zone %+v, closure %+v", got.Zone.countsOut, got.Closure)
	}
}
