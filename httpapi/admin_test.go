package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// checkRouter serves only the check handler behind the errors middleware,
// so the test does not depend on the admin group's authentication.
func checkRouter(e *env) *gin.Engine {
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	r := gin.New()
	r.Use(errorsMiddleware(log))
	h := &handler{store: e.store, checker: e.store, reg: e.reg, now: e.clk.Now, log: log}
	r.POST("/api/v1/admin/check", h.check)
	return r
}

func postCheck(t *testing.T, r *gin.Engine, query string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/admin/check"+query, nil))
	return w
}

func TestAdminCheckReportsAndRepairsDrift(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "ZA-01", false, t0)
	r := checkRouter(e)
	rdb := e.redis.Client(t)
	rdb.HIncrBy(context.Background(), "pk:{ZA}:c", "free", 2)

	tests := []struct {
		query    string
		drift    int
		repaired bool
		fixed    bool
	}{
		{"", 1, false, false},
		{"?repair=false", 1, false, false},
		{"?repair=true", 1, true, true},
		{"?repair=false", 0, false, false}, // repaired by the call before
	}
	for _, tc := range tests {
		w := postCheck(t, r, tc.query)
		if w.Code != http.StatusOK {
			t.Fatalf("POST check%s: %d %s", tc.query, w.Code, w.Body)
		}
		var rep occupancy.CheckReport
		decodeStrict(t, w.Body.Bytes(), &rep)
		if len(rep.Drift) != tc.drift || rep.Repaired != tc.repaired || rep.Zones != len(e.reg.Zones()) ||
			rep.Spaces != len(e.reg.Spaces()) {
			t.Fatalf("POST check%s: %+v; want %d drift item(s), repaired %v", tc.query, rep, tc.drift, tc.repaired)
		}
		if tc.drift > 0 {
			d := rep.Drift[0]
			if d.Zone != "ZA" || d.Kind != occupancy.DriftCounter || d.What != "free" || d.Expected != "1" ||
				d.Found != "3" || d.Fixed != tc.fixed {
				t.Fatalf("drift item %+v", d)
			}
		}
	}
}

func TestAdminCheckRefusesABadRepairValue(t *testing.T) {
	e := newEnv(t)
	w := postCheck(t, checkRouter(e), "?repair=yes")
	expectError(t, w, http.StatusBadRequest, "invalid", "repair", "true or false")
}

func TestAdminCheckRouteNeedsTheAdminRole(t *testing.T) {
	const admin, viewer = "admin-e8f16982f04cfc56843619aa15d298cf", "viewer-08f46584139e12989c81092189bf631b"
	e := newEnv(t, func(o *Options) {
		o.Tokens = []Token{{Role: RoleAdmin, Secret: admin}, {Role: RoleViewer, Secret: viewer}}
	})
	for _, tc := range []struct {
		token string
		want  int
	}{
		{"", http.StatusUnauthorized},
		{viewer, http.StatusForbidden},
		{admin, http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/admin/check?repair=false", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Fatalf("token %.5s…: status %d, want %d; body %s", tc.token, w.Code, tc.want, w.Body)
		}
	}
}
