package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

func TestConfigLevels(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       occupancy.LevelThresholds // on_street after merging
		err        string
	}{
		{"default", "", occupancy.DefaultLevelThresholds[occupancy.OnStreet], ""},
		{"on_street set", "levels:\n  on_street: {almost_full_on: 70, almost_full_off: 60, full_on: 95, full_off: 90}\n",
			occupancy.LevelThresholds{AlmostFullOn: 70, AlmostFullOff: 60, FullOn: 95, FullOff: 90}, ""},
		{"off above on", "levels:\n  on_street: {almost_full_on: 70, almost_full_off: 75, full_on: 95, full_off: 90}\n",
			occupancy.LevelThresholds{}, "levels.on_street"},
		{"unknown zone type", "levels:\n  garage: {almost_full_on: 70, almost_full_off: 60, full_on: 95, full_off: 90}\n",
			occupancy.LevelThresholds{}, "garage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ok := loadTestYAML(t, "sweep_interval: 30s\n"+tc.yaml, nil, tc.err)
			if !ok {
				return
			}
			got := levelThresholds(cfg.Levels)
			if got[occupancy.OnStreet] != tc.want || got[occupancy.OffStreet] != occupancy.DefaultLevelThresholds[occupancy.OffStreet] {
				t.Fatalf("thresholds %+v, want on_street %+v and the off_street default", got, tc.want)
			}
		})
	}
}

func TestConfigHealth(t *testing.T) {
	tests := []struct {
		name, yaml    string
		battery, flap int
		err           string
	}{
		{"default", "", 3000, 10, ""},
		{"set", "health:\n  low_battery_mv: 3300\n  flap_changes: 6\n", 3300, 6, ""},
		{"flap of one", "health:\n  flap_changes: 1\n", 0, 0, "health.flap_changes"},
		{"negative battery", "health:\n  low_battery_mv: -1\n", 0, 0, "health.low_battery_mv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ok := loadTestYAML(t, tc.yaml, nil, tc.err)
			if !ok {
				return
			}
			if cfg.Health.LowBatteryMV != tc.battery || cfg.Health.FlapChanges != tc.flap {
				t.Fatalf("health %+v, want battery %d, flap %d", cfg.Health, tc.battery, tc.flap)
			}
		})
	}
}

func TestConfigBatchWait(t *testing.T) {
	tests := []struct {
		name, yaml, env string
		want            time.Duration
		err             string
	}{
		{"default", "", "", time.Millisecond, ""},
		{"set", "mqtt:\n  batch_wait: 5ms\n", "", 5 * time.Millisecond, ""},
		{"off", "mqtt:\n  batch_wait: 0s\n", "", 0, ""},
		{"env wins", "mqtt:\n  batch_wait: 5ms\n", "2ms", 2 * time.Millisecond, ""},
		{"negative", "mqtt:\n  batch_wait: -1ms\n", "", 0, "mqtt.batch_wait"},
		{"too long", "mqtt:\n  batch_wait: 1s\n", "", 0, "mqtt.batch_wait"},
		{"env not a duration", "", "soon", 0, "PARKD_MQTT_BATCH_WAIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ok := loadTestYAML(t, tc.yaml, map[string]string{"PARKD_MQTT_BATCH_WAIT": tc.env}, tc.err)
			if !ok {
				return
			}
			if cfg.MQTT.BatchWait != tc.want {
				t.Fatalf("batch wait %s, want %s", cfg.MQTT.BatchWait, tc.want)
			}
		})
	}
}

// loadTestYAML loads yaml as parkd's config file, with env as the
// environment. With wantErr set it checks that loading fails with an error
// naming wantErr and returns false; otherwise loading must succeed.
func loadTestYAML(t *testing.T, yaml string, env map[string]string, wantErr string) (Config, bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parkd.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path, true, func(k string) string { return env[k] })
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want one naming %q", err, wantErr)
		}
		return cfg, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, true
}
