package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// sseMsg is one Server-Sent Events message.
type sseMsg struct {
	id, event string
	data      occupancy.Event
	raw       string // the data line as sent
}

// openEvents connects to the event feed of the server at base, with the given headers, and
// returns the messages as they come.
func openEvents(t *testing.T, base string, headers ...string) <-chan sseMsg {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The stream's first line, the retry delay, is written once the
	// handler has taken its starting position: events from then on reach it.
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "retry: ") {
		t.Fatalf("events: first line %q, want the retry delay", sc.Text())
	}
	ch := make(chan sseMsg, 100)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		var m sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.event != "" {
					ch <- m
				}
				m = sseMsg{}
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				m.raw = line[6:]
				if err := json.Unmarshal([]byte(line[6:]), &m.data); err != nil {
					t.Errorf("data %q: %v", line, err)
				}
			}
		}
	}()
	return ch
}

// next returns the next message, failing after a second.
func next(t *testing.T, ch <-chan sseMsg) sseMsg {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("event stream ended")
		}
		return m
	case <-time.After(time.Second):
		t.Fatal("no event within a second")
	}
	return sseMsg{}
}

func TestEvents(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "ZA-07", false, t0) // before the streams: a mark to resume after
	now, err := e.store.EventsNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mark := now.Newest()
	srv := httptest.NewServer(e.router)
	t.Cleanup(srv.Close)
	public := openEvents(t, srv.URL)
	staff := openEvents(t, srv.URL, "Authorization", "Bearer "+viewerToken)

	e.apply(t, "ZA-01", true, t0)
	inc, _ := json.Marshal(map[string]string{"id": "overstay|ZA-01|1"})
	if _, err := e.store.Publish(context.Background(), occupancy.Event{Type: occupancy.EventIncident,
		ZoneID: "ZA", SpaceID: "ZA-01", Status: "open", Data: inc}); err != nil {
		t.Fatal(err)
	}
	e.apply(t, "ZA-02", false, t0)

	t.Run("space and zone events, incidents for staff only", func(t *testing.T) {
		// One stream entry: the space's event, then the zone's with the
		// entry's id as the SSE id (a client cut off between them resumes
		// before the entry).
		sp := next(t, public)
		if sp.event != "space" || sp.data.SpaceID != "ZA-01" || sp.data.Status != "occupied" || sp.data.ZoneID != "ZA" || sp.id != "" || sp.data.ID == "" {
			t.Fatalf("first event %+v", sp)
		}
		z := next(t, public)
		var c occupancy.Counts
		if err := json.Unmarshal(z.data.Data, &c); z.event != "zone" || z.id != sp.data.ID || z.data.ID != sp.data.ID || err != nil || c.Occupied != 1 || c.Total == 0 {
			t.Fatalf("zone event %+v (%v)", z, err)
		}
		if m := next(t, public); m.event != "space" || m.data.SpaceID != "ZA-02" || m.data.Status != "free" {
			t.Fatalf("public got %+v, want ZA-02 free (no incident)", m)
		}
		var types []string
		for range 4 {
			types = append(types, next(t, staff).event)
		}
		if strings.Join(types, ",") != "space,zone,incident,space" {
			t.Fatalf("staff got %v", types)
		}
	})

	t.Run("resume with Last-Event-ID", func(t *testing.T) {
		// From the mark before the streams opened: the first change's
		// whole entry, then on.
		all := openEvents(t, srv.URL, "Authorization", "Bearer "+viewerToken, "Last-Event-ID", mark)
		first := next(t, all)
		if first.data.SpaceID != "ZA-01" {
			t.Fatalf("from the start: %+v", first)
		}
		if z := next(t, all); z.event != "zone" || z.id != first.data.ID {
			t.Fatalf("then %+v, want the zone's event with the entry's id %s", z, first.data.ID)
		}
		resumed := openEvents(t, srv.URL, "Authorization", "Bearer "+viewerToken, "Last-Event-ID", first.data.ID)
		if m := next(t, resumed); m.event != "incident" || m.data.Status != "open" {
			t.Fatalf("after %s: %+v, want the incident", first.data.ID, m)
		}
		if m := next(t, resumed); m.data.SpaceID != "ZA-02" {
			t.Fatalf("then %+v, want ZA-02", m)
		}
	})

	t.Run("one entry of many changes", func(t *testing.T) {
		// A batch's readings of one zone are one script call and one
		// stream entry: an event per change, then the zone's counts after
		// them; only the last carries the SSE id.
		live := openEvents(t, srv.URL)
		var rs []occupancy.Reading
		for _, id := range []string{"ZA-01", "ZA-02", "ZA-03"} {
			sp, _ := e.reg.Space(id)
			rs = append(rs, occupancy.Reading{SensorID: sp.SensorID, Occupied: id != "ZA-01", TS: t0.Add(time.Hour), BatteryMV: 3600})
		}
		if _, errs := e.store.ApplyBatch(context.Background(), rs); errors.Join(errs...) != nil {
			t.Fatal(errors.Join(errs...))
		}
		var got []string
		for range 4 {
			m := next(t, live)
			got = append(got, fmt.Sprintf("%s %s %s id=%t", m.event, m.data.SpaceID, m.data.Status, m.id != ""))
			if m.id != "" && m.id != m.data.ID {
				t.Errorf("SSE id %s, event id %s", m.id, m.data.ID)
			}
		}
		want := "[space ZA-01 free id=false space ZA-02 occupied id=false space ZA-03 occupied id=false zone   id=true]"
		if fmt.Sprint(got) != want {
			t.Errorf("got  %v\nwant %s", got, want)
		}
	})

	t.Run("bad Last-Event-ID", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/api/v1/events", nil)
		req.Header.Set("Last-Event-ID", "yesterday")
		w := httptest.NewRecorder()
		e.router.ServeHTTP(w, req)
		expectError(t, w, 400, "invalid")
	})
}

// TestEventsOutliveTheWriteTimeout: a stream keeps delivering past the
// server's WriteTimeout, and Shutdown ends it instead of waiting for it.
func TestEventsOutliveTheWriteTimeout(t *testing.T) {
	e := newEnv(t)
	srv := NewServer("127.0.0.1:0", e.router, ServerOptions{WriteTimeout: 300 * time.Millisecond})
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	ch := openEvents(t, "http://"+addr.String())
	time.Sleep(700 * time.Millisecond) // past the write timeout
	e.apply(t, "ZA-03", true, t0)
	if m := next(t, ch); m.data.SpaceID != "ZA-03" {
		t.Fatalf("got %+v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %s", d)
	}
	<-served
	for range ch {
	}
}
