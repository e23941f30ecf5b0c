package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// newestID is the id of the feed's newest event now.
func newestID(t *testing.T, e *env) string {
	t.Helper()
	now, err := e.store.EventsNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id := now.Newest()
	if id == "" {
		t.Fatal("the feed has no event")
	}
	return id
}

// shifted returns an event id of zone at d from id's time.
func shifted(id, zone string, d time.Duration) string {
	at := occupancy.PositionTime(id).Add(d)
	return fmt.Sprintf("%d-0@%s", at.UnixMilli(), zone)
}

// wantReset takes the next message of ch and checks that it is a reset
// whose reason mentions why and whose id is the feed's newest event.
func wantReset(t *testing.T, ch <-chan sseMsg, newest, why string) {
	t.Helper()
	m := next(t, ch)
	var r struct{ Type, Time, Reason string }
	if err := json.Unmarshal([]byte(m.raw), &r); err != nil || m.event != "reset" || r.Type != "reset" || r.Time == "" {
		t.Fatalf("got %+v (%v), want a reset event", m, err)
	}
	if m.id != newest || !strings.Contains(r.Reason, why) {
		t.Errorf("reset id %q reason %q; want id %q and a reason about %q", m.id, r.Reason, newest, why)
	}
}

// TestEventsResetPastTheReplayBound: a resume from an id past the replay
// bound (the feed's start, ahead of the feed, older than the window, in a
// trimmed stream, or with more events to replay than the bound) gets one
// reset event, with the feed's newest id, and then the live events; one
// within the bound gets the events after its id; a reconnect with the
// reset's id is within the bound. Each reset is counted in /metrics.
func TestEventsResetPastTheReplayBound(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared reader %v", shared), func(t *testing.T) {
			edit := func(o *Options) { o.EventReplayMax = 5 }
			var e *env
			var srv *httptest.Server
			if shared {
				e, _, srv = newHubEnv(t, 5*time.Millisecond, feed.HubOptions{}, edit)
			} else {
				e = newEnv(t, edit)
				srv = httptest.NewServer(e.router)
				t.Cleanup(srv.Close)
			}
			testReplayBounds(t, e, srv.URL)
		})
	}
}

func testReplayBounds(t *testing.T, e *env, base string) {
	e.apply(t, "ZB-01", true, t0)
	zb := newestID(t, e)
	e.apply(t, "ZA-01", true, t0)
	mark := newestID(t, e)
	t.Run("within the bound", func(t *testing.T) {
		ch := openEvents(t, base, "Last-Event-ID", zb)
		if m := next(t, ch); m.event != "space" || m.data.SpaceID != "ZA-01" { // in ZA: from 2 s before zb on
			t.Fatalf("after %s: %+v, want ZA-01's event", zb, m)
		}
	})

	resets := 0
	for _, tc := range []struct{ name, last, why string }{
		{"the feed's start", "0-0@ZA", "older than"},
		{"ahead of the feed", shifted(mark, "ZA", time.Minute), "not in the feed"},
		{"older than the window", shifted(mark, "ZA", -3*time.Minute), "2m0s older"},
		{"a zone the feed has not", "1-0@NOPE", "not in the feed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := openEvents(t, base, "Last-Event-ID", tc.last)
			wantReset(t, ch, mark, tc.why)
			resets++
			e.apply(t, "ZA-02", resets%2 == 1, t0.Add(time.Duration(resets)*time.Second))
			if m := next(t, ch); m.event != "space" || m.data.SpaceID != "ZA-02" {
				t.Fatalf("after the reset: %+v, want ZA-02's live event", m)
			}
			mark = next(t, ch).id // the zone's event: the feed's newest
		})
	}

	t.Run("a trimmed stream", func(t *testing.T) {
		if err := e.redis.Client(t).XTrimMaxLen(context.Background(), "pk:{ZB}:ev", 0).Err(); err != nil {
			t.Fatal(err)
		}
		e.apply(t, "ZB-01", false, t0.Add(time.Minute)) // ZB's stream now starts after zb
		newest := newestID(t, e)
		wantReset(t, openEvents(t, base, "Last-Event-ID", zb), newest, "no longer holds")
		resets++
		mark = newest
	})

	t.Run("a long replay", func(t *testing.T) {
		for i := range 3 { // 6 events after mark: more than the bound of 5
			e.apply(t, "ZA-03", i%2 == 0, t0.Add(time.Hour+time.Duration(i)*time.Second))
		}
		newest := newestID(t, e)
		ch := openEvents(t, base, "Last-Event-ID", mark)
		wantReset(t, ch, newest, "longer than 5 events")
		resets++

		again := openEvents(t, base, "Last-Event-ID", newest) // a reconnect with the reset's id
		e.apply(t, "ZA-04", true, t0.Add(2*time.Hour))
		for _, c := range []<-chan sseMsg{ch, again} {
			nextOf(t, c, "ZA-04") // again may repeat ZB's entry of less than 2 s before
		}
	})

	if n := counterValue(t, e.prom, "parkd_events_resets_total"); n != float64(resets) {
		t.Errorf("parkd_events_resets_total %v, want %d", n, resets)
	}
}

// nextOf skips to the next event of space id, failing on a reset.
func nextOf(t *testing.T, ch <-chan sseMsg, id string) sseMsg {
	t.Helper()
	for {
		m := next(t, ch)
		if m.event == "reset" {
			t.Fatalf("a reset before %s's event: %+v", id, m)
		}
		if m.data.SpaceID == id {
			return m
		}
	}
}
