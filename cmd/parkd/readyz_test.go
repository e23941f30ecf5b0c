package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// TestReadyzAnswersInTimeWhileRedisIsDown: with Redis stopped, /readyz says
// 503 inside its 1 s check budget (the Redis client gives up on its own
// rather than retrying past it), and 200 again once Redis is back. About
// 350 ms here; redisstore's TestPingAnswersFastWhenRedisIsDown pins the
// client's own limit under 1 s, this test the probe end to end.
func TestReadyzAnswersInTimeWhileRedisIsDown(t *testing.T) {
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	p := startParkd(t, testConfig(mosq.URL, rds.URL, "testdata/registry"))
	rds.Stop(t)
	for range 3 {
		start := time.Now()
		code, body := p.get(t, "/readyz", nil)
		if took := time.Since(start); code != http.StatusServiceUnavailable || took > 1500*time.Millisecond {
			t.Fatalf("/readyz with Redis down: %d after %s, want 503 within the 1 s check (+ slack)\n%s", code, took, body)
		} else {
			t.Logf("/readyz with Redis down: 503 after %s", took)
		}
	}
	rds.Start(t)
	eventually(t, 10*time.Second, "ready again", func() error {
		if code, body := p.get(t, "/readyz", nil); code != http.StatusOK {
			return fmt.Errorf("readyz %d: %s", code, body)
		}
		return nil
	})
}
