package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qiuai/parking/internal/testenv"
)

func TestShippedConfigHoldsTheDefaults(t *testing.T) {
	cfg, err := loadConfig("../../configs/parkd.yaml", true, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultConfig(); !reflect.DeepEqual(cfg, want) {
		t.Fatalf("configs/parkd.yaml says\n%+v\nthe defaults are\n%+v", cfg, want)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{
		"PARKD_MQTT_PASSWORD":       "from-env-loses",
		"PARKD_MQTT_PASSWORD_FILE":  file("mqtt", "mqtt-secret\n"),
		"PARKD_REDIS_PASSWORD_FILE": file("redis", "redis-secret\r\n"),
		"PARKD_REDIS_URL_FILE":      file("url", "redis://u:pw@10.0.0.5:6379/1\n"),
	}
	cfg, err := loadConfig("", false, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.Password != "mqtt-secret" || cfg.Redis.Password != "redis-secret" || cfg.Redis.URL != "redis://u:pw@10.0.0.5:6379/1" {
		t.Fatalf("secrets %q %q %q", cfg.MQTT.Password, cfg.Redis.Password, cfg.Redis.URL)
	}
	for _, tc := range []struct{ name, variable, path, want string }{
		{"missing file", "PARKD_REDIS_PASSWORD_FILE", filepath.Join(dir, "nope"), "PARKD_REDIS_PASSWORD_FILE"},
		{"empty file", "PARKD_MQTT_PASSWORD_FILE", file("empty", "\n"), "empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig("", false, func(k string) string {
				if k == tc.variable {
					return tc.path
				}
				return ""
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testenv.NewPKI(t)
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"tls options with tcp://", map[string]string{"PARKD_MQTT_URL": "tcp://u:hunter2@broker:1883",
			"PARKD_MQTT_TLS_CA_FILE": p.CA}, "mqtt.tls is set"},
		{"ca file without PEM", map[string]string{"PARKD_MQTT_URL": "ssl://broker:8883",
			"PARKD_MQTT_TLS_CA_FILE": notPEM}, "holds no PEM certificate"},
		{"cert without key", map[string]string{"PARKD_MQTT_URL": "ssl://broker:8883",
			"PARKD_MQTT_TLS_CERT_FILE": p.ClientCert}, "go together"},
		{"key of another certificate", map[string]string{"PARKD_MQTT_URL": "ssl://broker:8883",
			"PARKD_MQTT_TLS_CERT_FILE": p.ClientCert, "PARKD_MQTT_TLS_KEY_FILE": p.ServerKey}, "client certificate"},
		{"mqtt url that does not parse", map[string]string{"PARKD_MQTT_URL": "tcp://u:hunter2@bro ker:1883"}, "is not a URL"},
		{"redis tls options with redis://", map[string]string{"PARKD_REDIS_TLS_CA_FILE": p.CA}, "use rediss"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig("", false, func(k string) string {
				if k == "PARKD_REGISTRY" {
					return "testdata/registry"
				}
				return tc.env[k]
			})
			if err == nil {
				_, err = newApp(cfg, nil, slog.New(slog.DiscardHandler))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error repeats the password: %v", err)
			}
		})
	}
}
