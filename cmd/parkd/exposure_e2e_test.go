package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/qiuai/parking/internal/testenv"
)

// TestMetricsOnTheirOwnListener: with http.metrics_addr and a metrics
// token, /metrics is served there only, to the token only; the API's
// listener answers 404 for it.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	const token = "metrics-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
	env := map[string]string{"PARKD_METRICS_ADDR": fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		"PARKD_METRICS_TOKEN": token}
	cfg := testConfig(mosq.URL, rds.URL, "testdata/registry")
	if err := cfg.loadMetricsAccess(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	p := startParkd(t, cfg)
	if code, _ := p.get(t, "/metrics", nil); code != http.StatusNotFound {
		t.Errorf("/metrics on the API's listener: %d, want 404", code)
	}
	get := func(bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+cfg.HTTP.MetricsAddr+"/metrics", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(""); code != http.StatusUnauthorized || !strings.Contains(body, `"unauthorized"`) {
		t.Errorf("/metrics without the token: %d %s", code, body)
	}
	if code, body := get(testViewerToken); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a staff token: %d %s, want 401 (a token of its own)", code, body)
	}
	if code, body := get(token); code != http.StatusOK || !strings.Contains(body, `parkd_ingest_messages_total{result="clock"}`) {
		t.Errorf("/metrics with its token: %d, want 200 with the ingest counters", code)
	}
}

// TestWeakTokensRefusedAtStart: a staff or metrics token without 128 bits
// of apparent entropy stops parkd at start with a message saying so, from
// the environment or from a config made in code.
func TestWeakTokensRefusedAtStart(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"staff":   {"PARKD_TOKENS": "admin:aaaaaaaaaaaaaaaa"},
		"metrics": {"PARKD_METRICS_TOKEN": "0123456789abcdef"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig("", false, func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), "bits of apparent entropy, under 128") {
				t.Fatalf("loadConfig = %v", err)
			}
		})
	}
	cfg := testConfig("tcp://127.0.0.1:1", "redis://127.0.0.1:1/0", "testdata/registry")
	cfg.HTTP.Tokens = "viewer:aaaaaaaaaaaaaaaa"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := run(context.Background(), cfg, nil, log); err == nil || !strings.Contains(err.Error(), "entropy") {
		t.Fatalf("run with a weak token = %v, want a refusal", err)
	}
}

// TestDemoTokensAreStrong: the demo's random admin tokens pass the check.
func TestDemoTokensAreStrong(t *testing.T) {
	for range 1000 {
		tok, err := demoAdminToken()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := loadConfig("", false, func(k string) string {
			return map[string]string{"PARKD_TOKENS": "admin:" + tok}[k]
		}); err != nil {
			t.Fatalf("demo token %s: %v", tok, err)
		}
	}
}

// TestMetricsTokenFromFile: http.metrics_token_file names the token's
// file; the token is checked like a staff token.
func TestMetricsTokenFromFile(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/metrics-token"
	conf := dir + "/parkd.yaml"
	for _, f := range []struct{ path, text string }{
		{file, "metrics-2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b\n"},
		{conf, "http:\n  metrics_token_file: " + file + "\n"},
	} {
		if err := os.WriteFile(f.path, []byte(f.text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := loadConfig(conf, true, func(string) string { return "" })
	if err != nil || cfg.HTTP.MetricsToken != "metrics-2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b" {
		t.Fatalf("loadConfig = %q, %v", cfg.HTTP.MetricsToken, err)
	}
	if err := os.WriteFile(file, []byte("aaaaaaaaaaaaaaaaaaaa\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(conf, true, func(string) string { return "" }); err == nil || strings.Contains(err.Error(), "aaaa") {
		t.Fatalf("a weak metrics token: %v, want refused without showing it", err)
	}
}
