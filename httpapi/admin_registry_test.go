package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
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
		if sp.ID != "ZB-03" && sp.ID != "ZB-02" {
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
	var plan occupancy.ReloadPlan
	if w := e.do(t, http.MethodPost, "/api/v1/admin/registry/reload?dry_run=true"); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &plan) != nil {
		t.Fatalf("dry run: %d %s", w.Code, w.Body)
	}
	if !plan.DryRun || strings.Join(plan.Added, ",") != "ZB-09" || strings.Join(plan.Removed, ",") != "ZB-02,ZB-03" ||
		plan.Deletes != 2 || plan.Stored != 10 || !plan.ConfirmNeeded || plan.ByZone["ZB"] != (occupancy.ReloadCounts{Added: 1, Removed: 2, Unchanged: 1}) {
		t.Errorf("dry run %+v", plan)
	}
	expectError(t, e.do(t, http.MethodGet, "/api/v1/spaces/ZB-09"), 404, "not_found") // the dry run changed nothing
	expectError(t, e.do(t, http.MethodPost, "/api/v1/admin/registry/reload"), 409, "conflict", "confirm_remove=2", "ZB 2")
	expectError(t, e.do(t, http.MethodPost, "/api/v1/admin/registry/reload?confirm_remove=1"), 409, "conflict", "deletes 2")
	expectError(t, e.do(t, http.MethodPost, "/api/v1/admin/registry/reload?confirm_remove=x"), 400, "invalid", "confirm_remove")
	expectError(t, e.do(t, http.MethodPost, "/api/v1/admin/registry/reload?dry_run=yes"), 400, "invalid", "dry_run")

	w := e.do(t, http.MethodPost, "/api/v1/admin/registry/reload?confirm_remove=2")
	var job occupancy.ReloadJob
	if w.Code != 202 || json.Unmarshal(w.Body.Bytes(), &job) != nil || w.Header().Get("Location") != reloadJobsPath+job.ID {
		t.Fatalf("reload: %d %s %v", w.Code, w.Body, w.Header())
	}
	storetest.Eventually(t, 30*time.Second, func() string {
		e.get(t, reloadJobsPath+job.ID, 200, &job)
		if job.Status != occupancy.ReloadDone {
			return "job " + string(job.Status) + " at " + job.Step
		}
		return ""
	})
	if job.Diff == nil || job.Diff.Counts != (occupancy.ReloadCounts{Added: 1, Removed: 2, Unchanged: 8}) ||
		job.Result.Created != 1 || job.Result.Deleted != 2 || job.Progress.SpacesDone != 9 || job.FinishedAt == nil {
		t.Errorf("job %+v", job)
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
	if zb["total"] != 2.0 {
		t.Errorf("zone ZB total %v, want 2", zb["total"])
	}
	expectError(t, e.do(t, http.MethodGet, reloadJobsPath+"nope"), 404, "not_found")

	loadErr = errors.New("spaces.csv line 4: bad")
	expectError(t, e.do(t, http.MethodPost, "/api/v1/admin/registry/reload"), 409, "conflict")
	e.get(t, "/api/v1/spaces/ZB-09", 200, nil) // the running registry is kept
}
