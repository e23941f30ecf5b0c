package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qiuai/parking/configs"
	"github.com/qiuai/parking/occupancy"
)

// mapOut mirrors the answer of GET /api/v1/map.
type mapOut struct {
	UpdatedAt *string   `json:"updated_at"`
	Fields    []string  `json:"fields"`
	Zones     []zoneOut `json:"zones"`
	Spaces    [][]any   `json:"spaces"`
}

func TestMapData(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "ZA-01", true, t0.Add(-time.Minute))
	e.apply(t, "ZA-02", false, t0.Add(-2*time.Minute))
	e.apply(t, "ZB-02", true, t0.Add(-3*time.Minute))
	e.clk.Set(t0.Add(time.Minute))
	closureCall(t, e, nil, "/api/v1/spaces/ZA-04/close", operatorToken, `{"reason":"works"}`, http.StatusOK, nil)

	var m mapOut
	w := e.get(t, "/api/v1/map", http.StatusOK, &m)
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if got := m.Fields; len(got) != 6 || got[0] != "id" || got[5] != "status" {
		t.Errorf("fields %v", got)
	}
	want := map[string]string{"ZA-01": "occupied", "ZA-02": "free", "ZA-03": "unknown", "ZA-04": "closed", "ZB-02": "occupied"}
	spaces := e.reg.Spaces()
	if len(m.Spaces) != len(spaces) {
		t.Fatalf("%d spaces, want %d", len(m.Spaces), len(spaces))
	}
	for i, sp := range spaces {
		got := m.Spaces[i]
		if len(got) != 6 || got[0] != sp.ID || got[1] != sp.ZoneID || got[2] != sp.Lat || got[3] != sp.Lon || got[4] != string(sp.Kind) {
			t.Errorf("entry %d = %v, want %s %s %v %v %s", i, got, sp.ID, sp.ZoneID, sp.Lat, sp.Lon, sp.Kind)
		}
		st := want[sp.ID]
		if st == "" {
			st = "unknown"
		}
		if got[5] != st {
			t.Errorf("%s status %v, want %s", sp.ID, got[5], st)
		}
	}
	zones := map[string]zoneOut{}
	for _, z := range m.Zones {
		zones[z.ID] = z
	}
	za, zb := zones["ZA"], zones["ZB"]
	if len(m.Zones) != 2 || za.Name != "老镇区东街" || za.Total != 7 || za.Free != 1 || za.Occupied != 1 || za.Closed != 1 || za.Unknown != 4 {
		t.Errorf("zones %+v", m.Zones)
	}
	if zb.Total != 3 || zb.Occupied != 1 || zb.Unknown != 2 || zb.Level == "" {
		t.Errorf("zone ZB %+v", zb)
	}
	newest := *za.UpdatedAt
	if zb.UpdatedAt != nil && *zb.UpdatedAt > newest {
		newest = *zb.UpdatedAt
	}
	if m.UpdatedAt == nil || *m.UpdatedAt != newest {
		t.Errorf("updated_at %v, want the newest zone's %s", m.UpdatedAt, newest)
	}

	t.Run("gzip holds the same answer", func(t *testing.T) {
		plain := e.fetch(t, "/api/v1/map")
		gz := e.fetch(t, "/api/v1/map", "Accept-Encoding: gzip")
		if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("headers %v", gz.Header())
		}
		if b := gunzip(t, gz.Body.Bytes()); !bytes.Equal(b, plain.Body.Bytes()) {
			t.Errorf("gzip body %.200s\nplain %.200s", b, plain.Body)
		}
		if !json.Valid(plain.Body.Bytes()) {
			t.Error("not JSON")
		}
	})
}

func TestMapDataBeforeAnyReading(t *testing.T) {
	e := newEnv(t)
	var m mapOut
	e.get(t, "/api/v1/map", http.StatusOK, &m)
	if m.UpdatedAt != nil {
		t.Errorf("updated_at %v before any change, want null", *m.UpdatedAt)
	}
	for _, sp := range m.Spaces {
		if sp[5] != "unknown" {
			t.Errorf("%v: want unknown before any reading", sp)
		}
	}
}

func TestMapDataRedisDown(t *testing.T) {
	e := newEnv(t)
	e.redis.Stop(t)
	expectError(t, e.fetch(t, "/api/v1/map"), http.StatusServiceUnavailable, "unavailable")
}

// BenchmarkMapData measures GET /api/v1/map, gzipped, over the Qiuai
// registry (3718 spaces) on redis-server: what a page's first render waits
// for on the server.
func BenchmarkMapData(b *testing.B) {
	reg, err := occupancy.LoadRegistryFS(configs.FS, "qiuai")
	if err != nil {
		b.Fatal(err)
	}
	e := newEnvReg(b, reg)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/map", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}
