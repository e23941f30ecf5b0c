package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Token
	}{
		{"empty", "", nil},
		{"env form", "operator:op-d9b958307cd8ac414646a329d2f4da0d,viewer:vw-b1b1fb0c7367b18286489ba5a38a01b0",
			[]Token{{RoleOperator, "op-d9b958307cd8ac414646a329d2f4da0d"}, {RoleViewer, "vw-b1b1fb0c7367b18286489ba5a38a01b0"}}},
		{"file form with comments and blanks", "# staff\nadmin:ad-22778591fcf7de2e67fa6b0d1a57ab56\n\n  viewer : vw-b1b1fb0c7367b18286489ba5a38a01b0  \n",
			[]Token{{RoleAdmin, "ad-22778591fcf7de2e67fa6b0d1a57ab56"}, {RoleViewer, "vw-b1b1fb0c7367b18286489ba5a38a01b0"}}},
		{"colon inside the secret", "viewer:a:b-f7db8ef2537f79388ae8c0e856631b31", []Token{{RoleViewer, "a:b-f7db8ef2537f79388ae8c0e856631b31"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTokens(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("token %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseTokensRefuses(t *testing.T) {
	const secret = "very-87c47a7afa636e6edbd16370818bdc10"
	for _, in := range []string{
		"root:" + secret,                        // unknown role
		secret,                                  // no role
		"viewer:short",                          // too short
		"viewer:two words-0123456789",           // space
		"viewer:aaaaaaaaaaaaaaaa",               // 16 characters, about 9 bits
		"viewer:0123456789abcdef0123",           // sequences
		"viewer:Summer2026Parking!",             // a password, about 125 bits
		"viewer:3f2a9c01d4e5b6a7",               // 16 random hex digits: 64 bits
		"viewer:" + secret + ",admin:" + secret, // same secret twice
	} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseTokens(in)
			if err == nil {
				t.Fatalf("ParseTokens(%q) accepted it", in)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "two words") ||
				strings.Contains(err.Error(), "aaaa") || strings.Contains(err.Error(), "Summer") {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
	if s := (Token{RoleAdmin, secret}).String(); strings.Contains(s, secret) {
		t.Errorf("Token.String() = %q shows the secret", s)
	}
}

func TestStaffAccess(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, target, token string
		want                        int
	}{
		{"rejected without a token", "GET", "/api/v1/ingest/rejected", "", 401},
		{"rejected with a wrong token", "GET", "/api/v1/ingest/rejected", "nope-0123456789abcdef", 401},
		{"rejected with a viewer's token cut short", "GET", "/api/v1/ingest/rejected", viewerToken[:10], 401},
		{"rejected as viewer", "GET", "/api/v1/ingest/rejected", viewerToken, 200},
		{"rejected as operator", "GET", "/api/v1/ingest/rejected", operatorToken, 200},
		{"rejected as admin", "GET", "/api/v1/ingest/rejected", adminToken, 200},
		{"admin route without a token", "GET", "/api/v1/admin/anything", "", 401},
		{"admin route as viewer", "GET", "/api/v1/admin/anything", viewerToken, 403},
		{"admin route as operator", "POST", "/api/v1/admin/anything", operatorToken, 403},
		{"public route ignores a bad token", "GET", "/api/v1/summary", "nope-0123456789abcdef", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.bearer = tc.token
			w := e.do(t, tc.method, tc.target)
			switch tc.want {
			case 401:
				expectError(t, w, 401, "unauthorized", "token")
				if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate %q, want Bearer …", got)
				}
			case 403:
				expectError(t, w, 403, "forbidden", "admin")
			default:
				if w.Code != tc.want {
					t.Errorf("status %d, want %d; body %s", w.Code, tc.want, w.Body)
				}
			}
		})
	}
}

// TestAdminGroup checks that a route registered on the admin group answers
// only to admins, and that roles rank viewer < operator < admin.
func TestAdminGroup(t *testing.T) {
	auth := newAuthenticator(testTokens)
	r := gin.New()
	r.Use(errorsMiddleware(slog.New(slog.NewTextHandler(io.Discard, nil))), auth.authenticate)
	ok := func(c *gin.Context) { c.String(200, "ok") }
	r.GET("/op", requireRole(RoleOperator), ok)
	r.GET("/admin", requireRole(RoleAdmin), ok)
	tests := []struct {
		path, token string
		want        int
	}{
		{"/op", viewerToken, 403}, {"/op", operatorToken, 200}, {"/op", adminToken, 200},
		{"/admin", operatorToken, 403}, {"/admin", adminToken, 200}, {"/admin", "", 401},
	}
	for _, tc := range tests {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "bearer "+tc.token) // the scheme is case-insensitive
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s with %.6s…: %d, want %d", tc.path, tc.token, w.Code, tc.want)
		}
	}
}

func TestNoTokensConfigured(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Tokens = nil })
	e.bearer = viewerToken
	expectError(t, e.do(t, "GET", "/api/v1/ingest/rejected"), http.StatusUnauthorized, "unauthorized")
}

func TestTokensNeverLogged(t *testing.T) {
	e := newEnv(t)
	for _, tok := range []string{viewerToken, "wrong-token-0123456789"} {
		e.bearer = tok
		e.do(t, "GET", "/api/v1/ingest/rejected")
		e.do(t, "GET", "/api/v1/admin/x")
		if strings.Contains(e.logs.String(), tok) {
			t.Errorf("the logs hold the token %s", tok)
		}
	}
}

func TestAuthenticatorComparesEveryToken(t *testing.T) {
	a := newAuthenticator(testTokens)
	for _, tc := range testTokens {
		if got := a.role(tc.Secret); got != tc.Role {
			t.Errorf("role(%s token) = %q", tc.Role, got)
		}
	}
	if got := a.role(""); got != "" {
		t.Errorf("role(\"\") = %q, want none", got)
	}
	if got := a.role(adminToken + "x"); got != "" {
		t.Errorf("a longer token matched %q", got)
	}
}

// TestTokenEntropyMessage: a weak token is refused with the estimate and
// what to do, and a random one of 16 bytes passes.
func TestTokenEntropyMessage(t *testing.T) {
	_, err := ParseTokens("admin:aaaaaaaaaaaaaaaa")
	if err == nil || !strings.Contains(err.Error(), "entry 1 (admin)") || !strings.Contains(err.Error(), "about 9 bits") ||
		!strings.Contains(err.Error(), "under 128") || !strings.Contains(err.Error(), "openssl rand") {
		t.Fatalf("ParseTokens(weak) = %v", err)
	}
	if err := CheckToken("0f3a9c2b7d1e4f60a8b5c3d2e1f09a7b"); err != nil {
		t.Errorf("32 random hex digits refused: %v", err)
	}
}
