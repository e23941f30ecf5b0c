package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

// parkd is a parkd running in the test process against real servers.
type parkd struct {
	base string // http://127.0.0.1:PORT
	stop func()
}

// testConfig points parkd at private servers, with its API on a free port.
func testConfig(mqttURL, redisURL, registry string) Config {
	cfg := defaultConfig()
	cfg.MQTT.URL, cfg.Redis.URL, cfg.Registry = mqttURL, redisURL, registry
	cfg.MQTT.ClientID = "parkd-test"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.HTTP.ShutdownTimeout = 5 * time.Second
	cfg.HTTP.Tokens = "viewer:" + testViewerToken
	cfg.HTTP.PublicRate = 0 // these tests poll the API fast; httpapi tests the limit
	return cfg
}

// testViewerToken is the staff token p.get sends.
const testViewerToken = "test-viewer-3872d96fb46492dec445af9d27547dae"

// startParkd runs parkd with cfg until the test ends or stop is called, and
// returns once /readyz says ready.
func startParkd(t *testing.T, cfg Config) *parkd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { done <- run(ctx, cfg, nil, log, func(a net.Addr) { addrs <- a }) }()
	var p *parkd
	select {
	case a := <-addrs:
		p = &parkd{base: "http://" + a.String()}
	case err := <-done:
		cancel()
		t.Fatalf("parkd did not start: %v", err)
	}
	stopped := false
	p.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("parkd stopped with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("parkd did not stop within 20s")
		}
	}
	t.Cleanup(p.stop)
	eventually(t, 15*time.Second, "parkd ready", func() error {
		code, body := p.get(t, "/readyz", nil)
		if code != http.StatusOK {
			return fmt.Errorf("readyz %d: %s", code, body)
		}
		return nil
	})
	return p
}

// get fetches path and decodes a JSON answer into v (if non-nil).
func (p *parkd) get(t *testing.T, path string, v any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testViewerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return resp.StatusCode, string(body)
}

// ingestCounts reads parkd_ingest_messages_total by result from /metrics.
func (p *parkd) ingestCounts(t *testing.T) map[string]int {
	t.Helper()
	_, body := p.get(t, "/metrics", nil)
	out := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `parkd_ingest_messages_total{result="`) {
			continue
		}
		rest := strings.TrimPrefix(line, `parkd_ingest_messages_total{result="`)
		label, value, _ := strings.Cut(rest, `"} `)
		n, _ := strconv.ParseFloat(value, 64)
		out[label] = int(n)
	}
	return out
}

type spaceJSON struct {
	ID       string     `json:"id"`
	ZoneID   string     `json:"zone_id"`
	Status   string     `json:"status"`
	Since    *time.Time `json:"since"`
	LastSeen *time.Time `json:"last_seen"`
}

type countsJSON struct {
	ID                                     string `json:"id"`
	Total, Free, Occupied, Unknown, Closed int
}

// checkCountersAddUp asserts that the zones add up to the summary and each
// zone's counters to its spaces' statuses. The zones and the summary come
// from parkd's in-memory index, which follows Redis within its poll, and
// the spaces from Redis: they must agree within 2 s.
func (p *parkd) checkCountersAddUp(t *testing.T) {
	t.Helper()
	eventually(t, 2*time.Second, "counters add up", func() error {
		var zones struct{ Zones []countsJSON }
		var summary countsJSON
		p.get(t, "/api/v1/zones", &zones)
		p.get(t, "/api/v1/summary", &summary)
		var sum countsJSON
		for _, z := range zones.Zones {
			var page struct{ Spaces []spaceJSON }
			p.get(t, "/api/v1/spaces?limit=1000&zone="+z.ID, &page)
			by := map[string]int{}
			for _, s := range page.Spaces {
				by[s.Status]++
			}
			if z.Total != len(page.Spaces) || z.Free != by["free"] || z.Occupied != by["occupied"] ||
				z.Unknown != by["unknown"] || z.Closed != by["closed"] {
				return fmt.Errorf("zone %s counters %+v, its spaces say %v of %d", z.ID, z, by, len(page.Spaces))
			}
			sum.Total, sum.Free, sum.Occupied = sum.Total+z.Total, sum.Free+z.Free, sum.Occupied+z.Occupied
			sum.Unknown, sum.Closed = sum.Unknown+z.Unknown, sum.Closed+z.Closed
		}
		sum.ID = summary.ID
		if sum != summary {
			return fmt.Errorf("summary %+v, zones add up to %+v", summary, sum)
		}
		return nil
	})
}

// publisher connects a QoS 1 publisher to the broker.
func publisher(t *testing.T, url string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("test-pub-" + strconv.Itoa(os.Getpid())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect publisher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c paho.Client, sensor string, payload []byte) {
	t.Helper()
	tok := c.Publish("parking/v1/sensors/"+sensor+"/up", 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func msg(occupied bool, ts time.Time, seq int) []byte {
	return []byte(fmt.Sprintf(`{"occupied":%v,"ts":%q,"seq":%d,"kind":"status","battery_mv":3600}`,
		occupied, ts.UTC().Format(time.RFC3339Nano), seq))
}

// eventually retries check until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func TestCraftedMessagesLeaveEverySpaceHonest(t *testing.T) {
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	p := startParkd(t, testConfig(mosq.URL, rds.URL, "testdata/registry"))
	pub := publisher(t, mosq.URL)
	t1 := time.Now().Add(-time.Minute).UTC()

	publish(t, pub, "S-000001", msg(true, t1, 1)) // applied: occupied
	// The workers take messages concurrently, so a stale or duplicate one
	// is only stale or duplicate once the reading it repeats or predates is
	// in: wait for that before sending them.
	eventually(t, 10*time.Second, "first reading applied", func() error {
		if got := p.ingestCounts(t)["applied"]; got != 1 {
			return fmt.Errorf("applied %d, want 1", got)
		}
		return nil
	})
	publish(t, pub, "S-000001", msg(true, t1, 1))                                        // duplicate
	publish(t, pub, "S-000001", msg(false, t1.Add(-time.Second), 0))                     // stale: must not free it
	publish(t, pub, "S-000001", []byte(`{"occupied": tru`))                              // invalid: broken JSON
	publish(t, pub, "S-000001", []byte(`{"occupied": false}`))                           // invalid: no ts
	publish(t, pub, "S-000001", []byte(`{"occupied":"no","ts":"2026-11-25T08:00:00Z"}`)) // invalid: type
	publish(t, pub, "S-000002", append(msg(false, t1, 1), make([]byte, 70<<10)...))      // invalid: 70 KiB
	publish(t, pub, "S-999999", msg(false, t1, 1))                                       // unknown sensor
	publish(t, pub, "S-000003", msg(false, t1, 1))                                       // applied: behind the bad ones

	want := map[string]int{"applied": 2, "duplicate": 1, "stale": 1, "invalid": 4, "unknown_sensor": 1, "clock": 0, "retained": 0}
	eventually(t, 10*time.Second, "ingest counters", func() error {
		if got := p.ingestCounts(t); fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("got %v, want %v", got, want)
		}
		return nil
	})
	for id, status := range map[string]string{"QA-Z01-0001": "occupied", "QA-Z01-0002": "unknown",
		"QA-Z01-0003": "free", "QA-Z02-0001": "unknown"} {
		var sp spaceJSON
		if code, body := p.get(t, "/api/v1/spaces/"+id, &sp); code != 200 || sp.Status != status {
			t.Errorf("%s: %d %s, want status %s", id, code, body, status)
		}
	}
	// Nearby answers from the free index, which follows Redis's event
	// streams a few milliseconds behind (at most 2 s, else the Redis path):
	// it never offers a space that is not free, and offers a newly free
	// one once it has read its event.
	eventually(t, 2*time.Second, "nearby", func() error {
		var nearby struct{ Spaces []spaceJSON }
		p.get(t, "/api/v1/nearby?lat=29.8521&lon=121.6402&radius_m=500", &nearby)
		for _, sp := range nearby.Spaces {
			if sp.ID != "QA-Z01-0003" {
				t.Errorf("nearby offers %s, which is not free", sp.ID)
			}
		}
		if len(nearby.Spaces) != 1 || nearby.Spaces[0].ID != "QA-Z01-0003" {
			return fmt.Errorf("nearby offers %+v, want only the free QA-Z01-0003", nearby.Spaces)
		}
		return nil
	})
	var rejected struct {
		Rejected []struct{ Result, Reason, Topic string }
	}
	p.get(t, "/api/v1/ingest/rejected?limit=10", &rejected)
	if len(rejected.Rejected) != 5 {
		t.Errorf("rejected stream holds %d, want the 5 bad messages: %+v", len(rejected.Rejected), rejected)
	}
	if code, body := p.get(t, "/api/v1/nearby?lat=91&lon=121.64", nil); code != 400 || !strings.Contains(body, `"code":"invalid"`) {
		t.Errorf("bad nearby query: %d %s", code, body)
	}
	p.checkCountersAddUp(t)
}

func TestMessagePublishedWhileStoppedIsAppliedAfterRestart(t *testing.T) {
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	cfg := testConfig(mosq.URL, rds.URL, "testdata/registry")
	p := startParkd(t, cfg) // creates the persistent session
	p.stop()

	pub := publisher(t, mosq.URL)
	publish(t, pub, "S-000004", msg(true, time.Now().Add(-time.Second), 1))

	p = startParkd(t, cfg)
	eventually(t, 10*time.Second, "queued message applied", func() error {
		var sp spaceJSON
		p.get(t, "/api/v1/spaces/QA-Z02-0001", &sp)
		if sp.Status != string(occupancy.StatusOccupied) {
			return fmt.Errorf("QA-Z02-0001 is %s", sp.Status)
		}
		return nil
	})
	p.checkCountersAddUp(t)
}
