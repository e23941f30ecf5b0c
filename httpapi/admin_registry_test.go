package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

func TestRegistryReload(t *testing.T) {
	var next *occupancy.Registry
	var loadErr error
	e := newEnv(t, func(o *Options) {
		o.RegistryLoader = func() (*occupancy.Registry, error) { return next, loadErr }
	})
	cur := e.reg.Snapshot()
	var spaces []occupancy.Space
	for _, sp := range cur.Spaces() {
		if sp.ID != "ZB-03" {
			spaces = append(spaces, sp)
		}
	}
	spaces = append(spaces, occupancy.Space{ID: "ZB-09", ZoneID: "ZB", SensorID: "SENS-ZB-09",
		Lat: cur.Spaces()[len(cur.Spaces())-1].Lat, Lon: cur.Spaces()[len(cur.Spaces())-1].Lon, Kind: occupancy.KindStandard})
	var err error
	if next, err = occupancy.NewRegistry(cur.Zones(), spaces); err != nil {
		t.Fatal(err)
	}
	e.apply(t, "ZA-01", true, t0)

	e.bearer = operatorToken
	expectError(t, e.do(t, http.MethodPost, "/api/v1/admin/registry/reload"), 403, "forbidden")
	e.bearer = adminToken
	w := e.do(t, http.MethodPost, "/api/v1/admin/registry/reload")
	var rep struct {
		Added, Removed, Changed []string
		Unchanged               int
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &rep) != nil {
		t.Fatalf("reload: %d %s", w.Code, w.Body)
	}
	if len(rep.Added) != 1 || rep.Added[0] != "ZB-09" || len(rep.Removed) != 1 || rep.Removed[0] != "ZB-03" ||
		len(rep.Changed) != 0 || rep.Unchanged != len(spaces)-1 {
		t.Errorf("report %s", w.Body)
	}
	var sp map[string]any
	e.get(t, "/api/v1/spaces/ZB-09", 200, &sp)
	if sp["status"] != "unknown" {
		t.Errorf("new space %+v, want unknown", sp)
	}
	e.get(t, "/api/v1/spaces/ZA-01", 200, &sp)
	if sp["status"] != "occupied" {
		t.Errorf("kept space %+v, want occupied", sp)
	}
	expectError(t, e.do(t, http.MethodGet, "/api/v1/spaces/ZB-03"), 404, "not_found")
	var zb map[string]any
	e.get(t, "/api/v1/zones/ZB", 200, &zb)
	if zb["total"] != 3.0 {
		t.Errorf("zone ZB total %v, want 3", zb["total"])
	}

	loadErr = errors.New("spaces.csv line 4: bad")
	expectError(t, e.do(t, http.MethodPost, "/api/v1/admin/registry/reload"), 409, "conflict")
	e.get(t, "/api/v1/spaces/ZB-09", 200, nil) // the running registry is kept
}
