package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qiuai/parking/httpapi"
)

func TestStaffConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("# staff\nadmin:admin-e8f16982f04cfc56843619aa15d298cf\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		tokens  []httpapi.Token
		rate    float64
		proxies []string
	}{
		{"defaults", nil, nil, 20, nil},
		{"env tokens, no limit, proxies",
			map[string]string{"PARKD_TOKENS": "operator:op-d9b958307cd8ac414646a329d2f4da0d,viewer:vw-b1b1fb0c7367b18286489ba5a38a01b0",
				"PARKD_PUBLIC_RATE": "0", "PARKD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"},
			[]httpapi.Token{{Role: httpapi.RoleOperator, Secret: "op-d9b958307cd8ac414646a329d2f4da0d"},
				{Role: httpapi.RoleViewer, Secret: "vw-b1b1fb0c7367b18286489ba5a38a01b0"}},
			0, []string{"10.0.0.0/8", "192.0.2.1"}},
		{"tokens file and env add up",
			map[string]string{"PARKD_TOKENS": "viewer:vw-b1b1fb0c7367b18286489ba5a38a01b0", "PARKD_TOKENS_FILE": file, "PARKD_PUBLIC_RATE": "2.5"},
			[]httpapi.Token{{Role: httpapi.RoleViewer, Secret: "vw-b1b1fb0c7367b18286489ba5a38a01b0"},
				{Role: httpapi.RoleAdmin, Secret: "admin-e8f16982f04cfc56843619aa15d298cf"}},
			2.5, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig("", false, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got, err := cfg.staffTokens(); err != nil || !reflect.DeepEqual(got, tc.tokens) {
				t.Errorf("tokens %v, want %v", got, tc.tokens)
			}
			if cfg.HTTP.PublicRate != tc.rate || !reflect.DeepEqual(cfg.HTTP.TrustedProxies, tc.proxies) {
				t.Errorf("rate %v proxies %q, want %v %q", cfg.HTTP.PublicRate, cfg.HTTP.TrustedProxies, tc.rate, tc.proxies)
			}
		})
	}
}

func TestStaffConfigRefuses(t *testing.T) {
	const secret = "leaky-0aa5ba78ee3404e4e005ccc386640ea4"
	for name, env := range map[string]map[string]string{
		"unknown role":      {"PARKD_TOKENS": "root:" + secret},
		"short token":       {"PARKD_TOKENS": "viewer:abc"},
		"missing file":      {"PARKD_TOKENS_FILE": "/nonexistent/tokens"},
		"negative rate":     {"PARKD_PUBLIC_RATE": "-1"},
		"rate not a number": {"PARKD_PUBLIC_RATE": "fast"},
		"bad proxy":         {"PARKD_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig("", false, func(k string) string { return env[k] })
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}
