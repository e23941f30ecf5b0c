package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// TestSensorClockBackAt2001 is the reading dated 2001 on a running parkd
// with real Redis and Mosquitto: it is not applied (the space keeps no
// since of 2001 and no overstay opens), it is counted and kept with result
// clock, and staff see the sensor's clock_skew problem and incident.
func TestSensorClockBackAt2001(t *testing.T) {
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	cfg := testConfig(mosq.URL, rds.URL, "testdata/registry")
	cfg.DetectInterval = 100 * time.Millisecond
	p := startParkd(t, cfg)
	pub := publisher(t, mosq.URL)
	// QA-Z01-0001 allows 120 min; its sensor's clock says 2001.
	publish(t, pub, "S-000001", msg(true, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), 1))

	type incident struct{ Type, Detail string }
	var incs struct{ Incidents []incident }
	eventually(t, 10*time.Second, "a clock_skew incident", func() error {
		if code, raw := p.get(t, "/api/v1/incidents?status=open", &incs); code != 200 {
			return fmt.Errorf("incidents: %d %s", code, raw)
		}
		if len(incs.Incidents) == 0 {
			return fmt.Errorf("none open")
		}
		return nil
	})
	if len(incs.Incidents) != 1 || incs.Incidents[0].Type != "clock_skew" {
		t.Fatalf("open incidents %+v, want only clock_skew (no overstay from 2001)", incs.Incidents)
	}
	var sp struct {
		Status   string
		Since    *string
		LastSeen *string `json:"last_seen"`
	}
	if code, raw := p.get(t, "/api/v1/spaces/QA-Z01-0001", &sp); code != 200 || sp.Status != "unknown" ||
		sp.Since != nil || sp.LastSeen == nil {
		t.Fatalf("space: %d %s; want unknown, since null, last_seen set", code, raw)
	}
	var sensors struct {
		Sensors []struct {
			SpaceID string `json:"space_id"`
			Clock   *struct {
				OffsetS float64 `json:"offset_s"`
			}
		}
	}
	if code, raw := p.get(t, "/api/v1/sensors?health=clock_skew", &sensors); code != 200 || len(sensors.Sensors) != 1 ||
		sensors.Sensors[0].SpaceID != "QA-Z01-0001" || sensors.Sensors[0].Clock == nil ||
		sensors.Sensors[0].Clock.OffsetS > -700e6 {
		t.Fatalf("sensors with clock_skew: %d %s", code, raw)
	}
	var dead struct {
		Rejected []struct{ Result, Reason string }
	}
	if code, raw := p.get(t, "/api/v1/ingest/rejected", &dead); code != 200 || len(dead.Rejected) != 1 ||
		dead.Rejected[0].Result != "clock" {
		t.Fatalf("rejected: %d %s", code, raw)
	}
	if n := p.metric(t, `parkd_ingest_messages_total{result="clock"}`); n != 1 {
		t.Fatalf("clock results in /metrics: %v, want 1", n)
	}
}
