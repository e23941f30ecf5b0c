package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/readmodel"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// modelReads are the router's reads of spaces through a read model, as
// parkd wires them: the model's (the store's while it answers, memory
// while it does not), the rejected messages from the store.
type modelReads struct {
	*readmodel.Model
	store *redisstore.Store
}

func (r modelReads) DeadLetters(ctx context.Context, limit int) ([]occupancy.DeadLetter, error) {
	return r.store.DeadLetters(ctx, limit)
}

// newModelEnv is newEnv whose reads go through a read model kept by a
// feed.Tailer, on the real clock (the model goes stale when it stops
// hearing from Redis for maxLag), as parkd wires them.
func newModelEnv(t *testing.T, maxLag time.Duration) (*env, *readmodel.Model) {
	t.Helper()
	var m *readmodel.Model
	var tl *feed.Tailer
	e := newEnv(t, func(o *Options) {
		m = readmodel.New(readmodel.Options{Store: o.Store.(*redisstore.Store), Registry: o.Registry, MaxLag: maxLag,
			StoreRetry: 200 * time.Millisecond})
		tl = feed.NewTailer(feed.TailerOptions{Source: o.Events.(feed.Source), Sinks: []feed.Sink{m},
			Block: 100 * time.Millisecond, Zones: len(o.Registry.Zones())})
		o.Store, o.Zones = modelReads{m, o.Store.(*redisstore.Store)}, m
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, m
}

// publicReads are the public reads and whether parkd's memory can answer
// them.
var publicReads = []struct {
	target   string
	inMemory bool
}{
	{"/api/v1/summary", true},
	{"/api/v1/zones", true},
	{"/api/v1/zones/ZA", true},
	{"/api/v1/spaces", true},
	{"/api/v1/spaces?zone=ZA&status=free", true},
	{"/api/v1/spaces/ZA-01", true},
	{"/api/v1/spaces/ZA-02", true},
	{"/api/v1/nearby?lat=29.85&lon=121.64", true},
	{"/api/v1/nearby?lat=29.85&lon=121.64&zone_type=off_street", true},
	{"/api/v1/map", true},
	{"/ngsi-ld/v1/entities?type=ParkingSpot", true},
	{"/ngsi-ld/v1/entities?type=OnStreetParking", true},
	{"/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:ZA-01", true},
	{"/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:ZB", true},
	{"/api/v1/zones/ZA/history", false},
	{"/api/v1/history", false},
	{"/api/v1/zones/ZA/forecast?at=2026-11-25T09:00:00Z", false},
	{"/api/v1/forecast?at=2026-11-25T09:00:00Z", false},
	{"/api/v1/events", false},
}

// checkPublicReads asks every public read and checks that each answers
// within limit: from memory, marked stale (JSON and header) and as the
// document says, where memory holds an answer; 503 unavailable with
// Retry-After otherwise; never a 500.
func checkPublicReads(t *testing.T, e *env, s *spec, limit time.Duration) {
	t.Helper()
	for _, r := range publicReads {
		req := httptest.NewRequest("GET", r.target, nil)
		w := httptest.NewRecorder()
		start := time.Now()
		e.router.ServeHTTP(w, req)
		took := time.Since(start)
		if took > limit {
			t.Errorf("%s took %v, more than %v", r.target, took, limit)
		}
		s.check(t, req, w)
		if !r.inMemory {
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Errorf("%s: %d (Retry-After %q), want 503 with Retry-After", r.target, w.Code, w.Header().Get("Retry-After"))
			}
			continue
		}
		if w.Code != http.StatusOK || w.Header().Get(staleHeader) == "" {
			t.Errorf("%s: %d, %s %q; want 200 from memory, marked stale; body %.300s", r.target, w.Code,
				staleHeader, w.Header().Get(staleHeader), w.Body)
			continue
		}
		if !strings.HasPrefix(r.target, "/api/") {
			continue // NGSI-LD: the header alone
		}
		var marks struct {
			Stale       bool    `json:"stale"`
			ConfirmedAt *string `json:"confirmed_at"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &marks); err != nil || !marks.Stale || marks.ConfirmedAt == nil {
			t.Errorf("%s: stale %v confirmed_at %v (%v), want true and a time", r.target, marks.Stale, marks.ConfirmedAt, err)
		}
	}
}

// TestPublicReadsWithRedisSick: with Redis frozen (SIGSTOP) and then
// stopped, every public read answers in time, from memory marked stale or
// 503 unavailable, never a 500 or a hang; a space not free comes with its
// status alone. With Redis back, the answers are fresh again.
func TestPublicReadsWithRedisSick(t *testing.T) {
	e, m := newModelEnv(t, 300*time.Millisecond)
	s := loadSpec(t, e)
	nearbyState(t, e)
	historyState(t, e)
	storetest.Eventually(t, 10*time.Second, func() string {
		z, err := m.Zone(context.Background(), "ZA")
		if st := m.Stats(); err != nil || z.Counts.Occupied != 2 || !st.Synced || st.Lag > 200*time.Millisecond {
			return fmt.Sprintf("model %+v not caught up: zone ZA %+v, %v", st, z, err)
		}
		return ""
	})
	fresh := e.get(t, "/api/v1/summary", http.StatusOK, nil)
	if fresh.Header().Get(staleHeader) != "" {
		t.Fatal("a fresh summary is marked stale")
	}

	t.Run("frozen", func(t *testing.T) {
		e.redis.Freeze(t)
		waitStale(t, m, 300*time.Millisecond)
		checkPublicReads(t, e, s, 2*time.Second)
		var sp spaceOut
		e.get(t, "/api/v1/spaces/ZA-01", http.StatusOK, &struct {
			*spaceOut
			Stale       bool   `json:"stale"`
			ConfirmedAt string `json:"confirmed_at"`
		}{spaceOut: &sp})
		if sp.Status != "occupied" || sp.Since != nil {
			t.Errorf("ZA-01 from memory: %+v, want occupied without its times", sp)
		}
		e.redis.Thaw(t)
	})
	t.Run("stopped", func(t *testing.T) {
		e.redis.Stop(t)
		waitStale(t, m, 300*time.Millisecond)
		checkPublicReads(t, e, s, 2*time.Second)
		e.redis.Start(t)
	})
	t.Run("back", func(t *testing.T) {
		storetest.Eventually(t, 10*time.Second, func() string {
			w := e.do(t, "GET", "/api/v1/summary")
			if w.Code != http.StatusOK || w.Header().Get(staleHeader) != "" {
				return fmt.Sprintf("summary %d, %s %q", w.Code, staleHeader, w.Header().Get(staleHeader))
			}
			return ""
		})
	})
}

// waitStale waits until m has not heard from Redis for more than maxLag.
func waitStale(t *testing.T, m *readmodel.Model, maxLag time.Duration) {
	t.Helper()
	storetest.Eventually(t, 5*time.Second, func() string {
		if lag := m.Stats().Lag; lag <= maxLag {
			return fmt.Sprintf("the model heard from Redis %v ago", lag)
		}
		return ""
	})
}
