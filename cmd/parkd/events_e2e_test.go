package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// sseEvent is one message of GET /api/v1/events.
type sseEvent struct {
	ID, Event string
	Data      struct {
		ID, Type, Status string
		ZoneID           string `json:"zone_id"`
		SpaceID          string `json:"space_id"`
		Time             time.Time
		Data             json.RawMessage
	}
	At time.Time // when the test read it
}

// subscribe opens parkd's event feed (resuming after lastID if not empty)
// and returns its messages as they arrive; the channel closes when the
// stream ends.
func (p *parkd) subscribe(t *testing.T, lastID string) (<-chan sseEvent, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/api/v1/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	// The stream's first line, the retry delay, is written once the
	// handler has taken its starting position: events from then on reach it.
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "retry: ") {
		t.Fatalf("events: first line %q, want the retry delay", sc.Text())
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		var e sseEvent
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ": ")
			switch k {
			case "":
				if e.Event != "" {
					e.At = time.Now()
					ch <- e
				}
				e = sseEvent{}
			case "id":
				e.ID = v
			case "event":
				e.Event = v
			case "data":
				_ = json.Unmarshal([]byte(v), &e.Data)
			}
		}
	}()
	return ch, cancel
}

// nextSpace returns the next space event, skipping zone events; it fails
// when none comes within timeout.
func nextSpace(t *testing.T, ch <-chan sseEvent, timeout time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("event stream ended")
			}
			if e.Event == "space" {
				return e
			}
		case <-deadline:
			t.Fatalf("no space event within %s", timeout)
		}
	}
}

// TestEventsSeeAPublishedChangeAndResume: an SSE client sees a reading
// published to Mosquitto within a second, with the zone's counters; one that
// reconnects with Last-Event-ID gets exactly the changes it missed; a
// shutdown ends the stream.
func TestEventsSeeAPublishedChangeAndResume(t *testing.T) {
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	p := startParkd(t, testConfig(mosq.URL, rds.URL, "testdata/registry"))
	pub := publisher(t, mosq.URL)
	t1 := time.Now().Add(-time.Minute).UTC()

	live, cancel := p.subscribe(t, "")
	sent := time.Now()
	publish(t, pub, "S-000001", msg(true, t1, 1))
	e := nextSpace(t, live, time.Second)
	if e.Data.SpaceID != "QA-Z01-0001" || e.Data.Status != "occupied" || e.ID != "" || e.Data.ID == "" {
		t.Fatalf("event %+v, want QA-Z01-0001 occupied (the SSE id comes with the zone's event after it)", e)
	}
	t.Logf("published -> SSE event in %s", e.At.Sub(sent).Round(time.Millisecond))
	select {
	case z := <-live:
		if z.Event != "zone" || z.ID != e.Data.ID || !strings.Contains(string(z.Data.Data), `"occupied":1`) {
			t.Errorf("zone event %+v", z)
		}
	case <-time.After(time.Second):
		t.Error("no zone event")
	}
	cancel()

	// Missed while disconnected: a duplicate (no event), two changes.
	publish(t, pub, "S-000001", msg(true, t1, 1))
	publish(t, pub, "S-000003", msg(false, t1, 1))
	publish(t, pub, "S-000001", msg(false, t1.Add(time.Second), 2))
	eventually(t, 5*time.Second, "readings applied", func() error {
		var sp spaceJSON
		if p.get(t, "/api/v1/spaces/QA-Z01-0001", &sp); sp.Status != "free" {
			return errStatus(sp.Status)
		}
		return nil
	})
	resumed, _ := p.subscribe(t, e.Data.ID)
	var got []string
	for range 2 {
		m := nextSpace(t, resumed, 2*time.Second)
		got = append(got, m.Data.SpaceID+"="+m.Data.Status)
	}
	slices.Sort(got) // parkd's workers may apply two sensors' readings in either order
	if strings.Join(got, ",") != "QA-Z01-0001=free,QA-Z01-0003=free" {
		t.Errorf("after %s: %v", e.Data.ID, got)
	}
	select {
	case m := <-resumed:
		if m.Event == "space" {
			t.Errorf("extra event %+v", m)
		}
	case <-time.After(300 * time.Millisecond):
	}
	// The first stream is gone, the resumed one follows the shared reader.
	eventually(t, 2*time.Second, "parkd_events_streams", func() error {
		if n := p.metric(t, "parkd_events_streams"); n != 1 {
			return fmt.Errorf("parkd_events_streams %v, want 1", n)
		}
		return nil
	})

	p.stop() // fails the test if the open stream holds the shutdown past its timeout
	for range resumed {
	}
}

// errStatus reports a space's status while waiting for another.
type errStatus string

func (e errStatus) Error() string { return "status " + string(e) }

// metric returns the value of an unlabelled metric from /metrics, or -1
// when it is not there.
func (p *parkd) metric(t *testing.T, name string) float64 {
	t.Helper()
	_, body := p.get(t, "/metrics", nil)
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return n
		}
	}
	return -1
}
