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
	if err := os.WriteFile(file, []byte("# staff\nadmin:admin-secret-0123456789\n"), 0o600); err != nil {
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
			map[string]string{"PARKD_TOKENS": "operator:op-secret-0123456789,viewer:vw-secret-0123456789",
				"PARKD_PUBLIC_RATE": "0", "PARKD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"},
			[]httpapi.Token{{Role: httpapi.RoleOperator, Secret: "op-secret-0123456789"},
				{Role: httpapi.RoleViewer, Secret: "vw-secret-0123456789"}},
			0, []string{"10.0.0.0/8", "192.0.2.1"}},
		{"tokens file and env add up",
			map[string]string{"PARKD_TOKENS": "viewer:vw-secret-0123456789", "PARKD_TOKENS_FILE": file, "PARKD_PUBLIC_RATE": "2.5"},
			[]httpapi.Token{{Role: httpapi.RoleViewer, Secret: "vw-secret-0123456789"},
				{Role: httpapi.RoleAdmin, Secret: "admin-secret-0123456789"}},
			2.5, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig("", false, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.staffTokens(); !reflect.DeepEqual(got, tc.tokens) {
				t.Errorf("tokens %v, want %v", got, tc.tokens)
			}
			if cfg.HTTP.PublicRate != tc.rate || !reflect.DeepEqual(cfg.HTTP.TrustedProxies, tc.proxies) {
				t.Errorf("rate %v proxies %q, want %v %q", cfg.HTTP.PublicRate, cfg.HTTP.TrustedProxies, tc.rate, tc.proxies)
			}
		})
	}
}

func TestStaffConfigRefuses(t *testing.T) {
	const secret = "leaky-secret-0123456789"
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
