package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

// TestRegistryReloadAddsTheNextPhase: a running parkd re-reads its registry
// folder on POST /api/v1/admin/registry/reload; a sensor of a space added to
// spaces.csv is then ingested (through Mosquitto) and seen on the live feed,
// and a removed space is gone, without a restart.
func TestRegistryReloadAddsTheNextPhase(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"zones.yaml", "spaces.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata/registry", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	cfg := testConfig(mosq.URL, rds.URL, dir)
	const admin = "test-admin-630e70c3d11688bbdc0a219aa3a47f9e"
	cfg.HTTP.Tokens += ",admin:" + admin
	p := startParkd(t, cfg)
	pub := publisher(t, mosq.URL)
	t1 := time.Now().Add(-time.Minute).UTC()

	csv, _ := os.ReadFile(filepath.Join(dir, "spaces.csv"))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	var kept []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "QA-Z01-0002,") {
			kept = append(kept, l)
		}
	}
	kept = append(kept, "QA-Z01-0099,Z01,S-000099,29.85230,121.64020,standard,120,3")
	if err := os.WriteFile(filepath.Join(dir, "spaces.csv"), []byte(strings.Join(kept, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	publish(t, pub, "S-000099", msg(true, t1, 1)) // before the reload: an unknown sensor
	eventually(t, 5*time.Second, "unknown sensor counted", func() error {
		if p.ingestCounts(t)["unknown_sensor"] != 1 {
			return errStatus("not yet")
		}
		return nil
	})

	code, body := postReload(t, p.base, admin, "?dry_run=true")
	var plan occupancy.ReloadPlan
	if code != 200 || json.Unmarshal(body, &plan) != nil || strings.Join(plan.Added, ",") != "QA-Z01-0099" ||
		strings.Join(plan.Removed, ",") != "QA-Z01-0002" || plan.Deletes != 1 {
		t.Fatalf("dry run: %d %s", code, body)
	}
	job := reload(t, p.base, admin, fmt.Sprintf("?confirm_remove=%d", plan.Deletes), 30*time.Second)
	if job.Status != occupancy.ReloadDone || job.Result.Created != 1 || job.Result.Deleted != 1 {
		t.Fatalf("reload job %+v", job)
	}

	live, _ := p.subscribe(t, "")
	publish(t, pub, "S-000099", msg(true, t1.Add(time.Second), 2))
	if e := nextSpace(t, live, 2*time.Second); e.Data.SpaceID != "QA-Z01-0099" || e.Data.Status != "occupied" {
		t.Errorf("event %+v, want the new space occupied", e)
	}
	if code, body := p.get(t, "/api/v1/spaces/QA-Z01-0002", nil); code != 404 {
		t.Errorf("removed space: %d %s", code, body)
	}
	p.checkCountersAddUp(t)
}

// postReload posts a registry reload to the parkd at base with an admin
// token and query ("?dry_run=true", ...), and returns the status and body.
func postReload(t *testing.T, base, admin, query string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/admin/registry/reload"+query, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST reload: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// reload posts a reload (202 expected) and follows its job until it ends,
// within timeout, and returns it.
func reload(t *testing.T, base, admin, query string, timeout time.Duration) occupancy.ReloadJob {
	t.Helper()
	code, body := postReload(t, base, admin, query)
	var job occupancy.ReloadJob
	if code != http.StatusAccepted || json.Unmarshal(body, &job) != nil || job.ID == "" {
		t.Fatalf("POST reload%s: %d %s", query, code, body)
	}
	return waitJob(t, base, admin, job.ID, timeout)
}

// waitJob follows reload job id at base until it is not running.
func waitJob(t *testing.T, base, admin, id string, timeout time.Duration) occupancy.ReloadJob {
	t.Helper()
	var job occupancy.ReloadJob
	eventually(t, timeout, "reload job "+id+" ends", func() error {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/admin/registry/reload/jobs/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&job); err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("GET job: %d %v", resp.StatusCode, err)
		}
		if job.Status == occupancy.ReloadRunning {
			return fmt.Errorf("at step %s, %+v", job.Step, job.Progress)
		}
		return nil
	})
	return job
}
