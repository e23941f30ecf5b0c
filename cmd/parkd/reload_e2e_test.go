package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
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

	req, _ := http.NewRequest(http.MethodPost, p.base+"/api/v1/admin/registry/reload", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rep struct{ Added, Removed []string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &rep) != nil ||
		strings.Join(rep.Added, ",") != "QA-Z01-0099" || strings.Join(rep.Removed, ",") != "QA-Z01-0002" {
		t.Fatalf("reload: %d %s", resp.StatusCode, body)
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
