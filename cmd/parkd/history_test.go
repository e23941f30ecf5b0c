package main

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// TestHistoryAndForecastAnswer checks, on a running parkd, that the
// sampler records the zones' counters as it starts and that the history
// and forecast of a zone and of the town answer.
func TestHistoryAndForecastAnswer(t *testing.T) {
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	p := startParkd(t, testConfig(mosq.URL, rds.URL, "testdata/registry"))
	type history struct {
		ZoneID string `json:"zone_id"`
		Points []struct {
			Start                         string
			Total, Free, Unknown, Samples int
		}
	}
	eventually(t, 10*time.Second, "the first history sample", func() error {
		var h history
		if code, body := p.get(t, "/api/v1/zones/Z01/history", &h); code != 200 || len(h.Points) != 1 ||
			h.Points[0].Total != 3 || h.Points[0].Unknown != 3 || h.Points[0].Samples != 1 {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	var town history
	if code, body := p.get(t, "/api/v1/history?step=1h", &town); code != 200 || town.ZoneID != "all" || len(town.Points) != 1 {
		t.Errorf("town history: %d %s", code, body)
	}

	pub := publisher(t, mosq.URL)
	publish(t, pub, "S-000001", msg(false, time.Now().Add(-time.Second).UTC(), 1))
	at := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	eventually(t, 10*time.Second, "a forecast from the current count", func() error {
		var f struct {
			Free, Total int
			Method      string
		}
		// No previous weeks recorded yet: the forecast is the current count.
		if code, body := p.get(t, "/api/v1/zones/Z01/forecast?at="+at, &f); code != 200 || f.Method != "current" || f.Free != 1 || f.Total != 3 {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
}
