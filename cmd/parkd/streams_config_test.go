package main

import (
	"strings"
	"testing"
)

// TestEventStreamLimitsConfig: the live streams' limits default to 2000 in
// all and 20 per client IP, PARKD_EVENTS_MAX_STREAMS and
// PARKD_EVENTS_MAX_PER_IP set them (0: no limit), and a bad value is
// refused at start naming its variable.
func TestEventStreamLimitsConfig(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          map[string]string
		total, perIP int
		err          string
	}{
		{"defaults", nil, 2000, 20, ""},
		{"set", map[string]string{"PARKD_EVENTS_MAX_STREAMS": "6000", "PARKD_EVENTS_MAX_PER_IP": "0"}, 6000, 0, ""},
		{"not a number", map[string]string{"PARKD_EVENTS_MAX_PER_IP": "many"}, 0, 0, "PARKD_EVENTS_MAX_PER_IP"},
		{"negative", map[string]string{"PARKD_EVENTS_MAX_STREAMS": "-1"}, 0, 0, "PARKD_EVENTS_MAX_STREAMS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig("", false, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.HTTP.EventsMaxStreams != tc.total || cfg.HTTP.EventsMaxPerIP != tc.perIP {
				t.Errorf("limits %d and %d per IP, want %d and %d", cfg.HTTP.EventsMaxStreams, cfg.HTTP.EventsMaxPerIP, tc.total, tc.perIP)
			}
		})
	}
}
