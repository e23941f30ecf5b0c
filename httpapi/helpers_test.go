package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// t0 is the fixed wall clock of the tests.
var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// clock is a settable clock shared by the store and the router.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// env is a router over the real store on a private redis-server.
type env struct {
	reg    *occupancy.Registry
	redis  *testenv.Redis
	store  *redisstore.Store
	clk    *clock
	prom   *prometheus.Registry
	logs   *testenv.SyncBuffer
	router *gin.Engine
	// bearer, when set, is sent as "Authorization: Bearer …" by do and get.
	bearer string
}

// Staff tokens every test router knows (newEnv sets them).
const (
	viewerToken   = "viewer-497f86b03af2d2c752929aea4489ca4d"
	operatorToken = "operator-38766bdc829c6a011bfcd89e5d666b67"
	adminToken    = "admin-c2e6b4fe247dc7ccfa7ac65f0f3df35f"
)

var testTokens = []Token{{RoleViewer, viewerToken}, {RoleOperator, operatorToken}, {RoleAdmin, adminToken}}

// loadRegistry loads testdata/registry: zone ZA (7 spaces 10 m apart going
// north from ZA-01, of every kind) and zone ZB (3 spaces) 1 km north.
func loadRegistry(tb testing.TB) *occupancy.Registry {
	tb.Helper()
	reg, err := occupancy.LoadRegistry("testdata/registry")
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// newEnv starts redis-server, initialises the store and builds the router.
// edit may change the router options before NewRouter.
func newEnv(tb testing.TB, edit ...func(*Options)) *env {
	tb.Helper()
	return newEnvReg(tb, loadRegistry(tb), edit...)
}

// newEnvReg is newEnv on another registry.
func newEnvReg(tb testing.TB, reg *occupancy.Registry, edit ...func(*Options)) *env {
	tb.Helper()
	e := &env{reg: reg, redis: testenv.MustStartRedis(tb), clk: &clock{now: t0},
		prom: prometheus.NewRegistry(), logs: &testenv.SyncBuffer{}}
	// The client parkd uses, so timeouts behave as in production.
	rdb, err := redisstore.NewClient(e.redis.URL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	e.store, err = redisstore.New(redisstore.Options{Client: rdb, Registry: e.reg, Now: e.clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.store.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	opts := Options{Store: e.store, Zones: e.store, Closures: e.store, Sensors: e.store, History: e.store,
		Events: e.store, Checker: e.store, Registry: e.reg,
		Reloader: storetest.Reloader(tb, e.store, e.reg, func(o *jobs.ReloaderOptions) { o.Now, o.FollowInterval = e.clk.Now, time.Second }), Gatherer: e.prom, Registerer: e.prom, Now: e.clk.Now, Tokens: testTokens,
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range edit {
		f(&opts)
	}
	e.router = NewRouter(opts)
	return e
}

// apply sets a space's state through its sensor, as ingest would.
func (e *env) apply(tb testing.TB, spaceID string, occupied bool, ts time.Time) {
	tb.Helper()
	sp, ok := e.reg.Space(spaceID)
	if !ok {
		tb.Fatalf("no space %s in the test registry", spaceID)
	}
	r := occupancy.Reading{SensorID: sp.SensorID, Occupied: occupied, TS: ts, BatteryMV: 3600}
	res, err := e.store.Apply(context.Background(), r)
	if err != nil || res != occupancy.ResultApplied {
		tb.Fatalf("apply %s occupied=%v: %s, %v", spaceID, occupied, res, err)
	}
}

// do sends a request to the router and returns the answer.
func (e *env) do(tb testing.TB, method, target string) *httptest.ResponseRecorder {
	tb.Helper()
	w := httptest.NewRecorder()
	req := httptest.NewRequest(method, target, nil)
	if e.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+e.bearer)
	}
	e.router.ServeHTTP(w, req)
	return w
}

// get sends GET target, expects want and decodes the JSON body into out.
func (e *env) get(tb testing.TB, target string, want int, out any) *httptest.ResponseRecorder {
	tb.Helper()
	w := e.do(tb, http.MethodGet, target)
	if w.Code != want {
		tb.Fatalf("GET %s: status %d, want %d; body %s", target, w.Code, want, w.Body)
	}
	if out != nil {
		decodeStrict(tb, w.Body.Bytes(), out)
	}
	return w
}

// decodeStrict decodes JSON and fails on fields out does not know.
func decodeStrict(tb testing.TB, body []byte, out any) {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		tb.Fatalf("decode %s: %v", body, err)
	}
}

// apiError is the single error shape.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// expectError checks that w is status with the JSON error shape and code,
// and that the message holds every one of words.
func expectError(tb testing.TB, w *httptest.ResponseRecorder, status int, code string, words ...string) apiError {
	tb.Helper()
	if w.Code != status {
		tb.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("Content-Type %q, want application/json", ct)
	}
	var e apiError
	decodeStrict(tb, w.Body.Bytes(), &e)
	if e.Error.Code != code {
		tb.Errorf("code %q, want %q (message %q)", e.Error.Code, code, e.Error.Message)
	}
	if e.Error.Message == "" {
		tb.Error("empty message")
	}
	for _, word := range words {
		if !strings.Contains(e.Error.Message, word) {
			tb.Errorf("message %q does not mention %q", e.Error.Message, word)
		}
	}
	return e
}

// zoneOut and spaceOut mirror the JSON shapes, so decodeStrict catches a
// field added or renamed by mistake.
type countsOut struct {
	Total    int `json:"total"`
	Free     int `json:"free"`
	Occupied int `json:"occupied"`
	Unknown  int `json:"unknown"`
	Closed   int `json:"closed"`
}

type zoneOut struct {
	ID   string  `json:"id"`
	Name string  `json:"name"`
	Type string  `json:"type"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
	countsOut
	Profile   string  `json:"profile"`
	UpdatedAt *string `json:"updated_at"`
	Level     string  `json:"level"`
}

type spaceOut struct {
	ID         string  `json:"id"`
	ZoneID     string  `json:"zone_id"`
	Kind       string  `json:"kind"`
	Lat        float64 `json:"lat"`
	Lon        float64 `json:"lon"`
	Status     string  `json:"status"`
	Since      *string `json:"since"`
	LastSeen   *string `json:"last_seen"`
	MaxStayMin int     `json:"max_stay_min"`
	SensorID   string  `json:"sensor_id"`
	Phase      int     `json:"phase"`
	BatteryMV  int     `json:"battery_mv"`
	DistanceM  float64 `json:"distance_m"`  // nearby only
	ObservedAt string  `json:"observed_at"` // nearby only
}

// ts formats t as the API does.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// detect makes one pass of the incident detector over the env's store, as
// parkd's runs every interval.
func (e *env) detect(ctx context.Context) (jobs.Result, error) {
	return jobs.NewDetector(jobs.DetectorOptions{Store: e.store, Registry: e.reg, Now: e.clk.Now}).Detect(ctx)
}
