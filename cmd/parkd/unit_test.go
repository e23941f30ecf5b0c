package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestShippedUnitFitsTheStreamLimit: the shipped systemd unit gives parkd
// at least 4 file descriptors per live stream it allows by default (the
// stream's, as many other connections, the Redis pools, the broker), so
// parkd reaches its stream limit long before the descriptor limit and the
// probes and the API keep answering there.
func TestShippedUnitFitsTheStreamLimit(t *testing.T) {
	b, err := os.ReadFile("../../configs/parkd.service")
	if err != nil {
		t.Fatal(err)
	}
	limit := -1
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "LimitNOFILE="); ok {
			if limit, err = strconv.Atoi(v); err != nil {
				t.Fatalf("LimitNOFILE=%s is not a number", v)
			}
		}
	}
	if want := 4 * defaultConfig().HTTP.EventsMaxStreams; limit < want {
		t.Errorf("configs/parkd.service LimitNOFILE %d, want at least %d (4 × the default events_max_streams)", limit, want)
	}
}
