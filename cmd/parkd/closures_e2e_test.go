package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// TestClosedSpaceNeverFree checks on a running parkd with real Redis and
// Mosquitto that a space an operator closes reports closed and leaves the
// free counts and nearby search while its sensor keeps reporting free, and
// that it reopens by itself at until.
func TestClosedSpaceNeverFree(t *testing.T) {
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	cfg := testConfig(mosq.URL, rds.URL, "testdata/registry")
	cfg.HTTP.Tokens += ",operator:" + testOperatorToken
	p := startParkd(t, cfg)
	pub := publisher(t, mosq.URL)

	type space struct {
		Status   string
		LastSeen *string `json:"last_seen"`
	}
	type counts struct{ Free, Closed int }
	state := func() (space, counts, int) {
		var sp space
		var zone counts
		var near struct{ Spaces []struct{ ID string } }
		p.get(t, "/api/v1/spaces/QA-Z01-0001", &sp)
		p.get(t, "/api/v1/zones/Z01", &zone)
		p.get(t, "/api/v1/nearby?lat=29.8521&lon=121.6402&radius_m=20&limit=10", &near)
		n := 0
		for _, s := range near.Spaces {
			if s.ID == "QA-Z01-0001" {
				n++
			}
		}
		return sp, zone, n
	}

	publish(t, pub, "S-000001", msg(false, time.Now(), 1))
	eventually(t, 10*time.Second, "QA-Z01-0001 free", func() error {
		if sp, z, n := state(); sp.Status != "free" || z.Free != 1 || n != 1 {
			return fmt.Errorf("space %s, zone free %d, in nearby %d times", sp.Status, z.Free, n)
		}
		return nil
	})

	until := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
	if code, body := p.post(t, "/api/v1/spaces/QA-Z01-0001/close", testViewerToken, `{"reason":"works"}`); code != 403 {
		t.Fatalf("viewer close: %d %s, want 403", code, body)
	}
	if code, body := p.post(t, "/api/v1/spaces/QA-Z01-0001/close", testOperatorToken,
		`{"reason":"road works","until":"`+until+`"}`); code != 200 {
		t.Fatalf("operator close: %d %s", code, body)
	}
	sp, z, n := state()
	if sp.Status != "closed" || z.Free != 0 || z.Closed != 1 || n != 0 {
		t.Fatalf("after close: space %s, zone %+v, in nearby %d times", sp.Status, z, n)
	}

	// The sensor reports free again: applied (last_seen moves), still closed.
	publish(t, pub, "S-000001", msg(false, time.Now(), 2))
	eventually(t, 10*time.Second, "the free reading applied", func() error {
		now, _, _ := state()
		if now.LastSeen == nil || sp.LastSeen == nil || *now.LastSeen == *sp.LastSeen {
			return fmt.Errorf("last_seen %v", now.LastSeen)
		}
		return nil
	})
	if sp, z, n := state(); sp.Status != "closed" || z.Free != 0 || n != 0 {
		t.Fatalf("closed space after a free reading: space %s, zone %+v, in nearby %d times", sp.Status, z, n)
	}

	eventually(t, 15*time.Second, "reopened at until", func() error {
		if sp, z, n := state(); sp.Status != "free" || z.Free != 1 || z.Closed != 0 || n != 1 {
			return fmt.Errorf("space %s, zone %+v, in nearby %d times", sp.Status, z, n)
		}
		return nil
	})
}
