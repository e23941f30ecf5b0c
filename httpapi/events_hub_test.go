package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// newHubEnv is newEnv whose streams share the process's one reader of the
// feed (a feed.Tailer feeding a feed.Hub), as parkd's do; pause is the
// tailer's pause after a read that found events.
func newHubEnv(t *testing.T, pause time.Duration, opts feed.HubOptions, edit ...func(*Options)) (*env, *feed.Hub, *httptest.Server) {
	t.Helper()
	hub := feed.NewHub(opts)
	var tailer *feed.Tailer
	e := newEnv(t, append(edit, func(o *Options) {
		o.Hub = hub
		tailer = feed.NewTailer(feed.TailerOptions{Source: o.Events.(feed.Source), Sinks: []feed.Sink{hub},
			Pause: pause, Zones: len(o.Registry.Zones())})
	})...)
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return hub.Run(ctx) })
	g.Go(func() error { return tailer.Run(ctx) })
	t.Cleanup(func() { cancel(); _ = g.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if sub := hub.Subscribe(); sub != nil {
			sub.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hub not running after 5s")
		}
	}
	srv := httptest.NewServer(e.router)
	t.Cleanup(srv.Close)
	return e, hub, srv
}

// waitSubscribers waits until the hub has n subscriptions: the streams
// caught up and follow it.
func waitSubscribers(t *testing.T, hub *feed.Hub, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); hub.Stats().Subscribers != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hub subscribers %d after 5s, want %d", hub.Stats().Subscribers, n)
		}
	}
}

// xreads is how many XREADs the env's Redis has served.
func xreads(t *testing.T, e *env) int {
	t.Helper()
	info, err := e.redis.Client(t).Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_xread:calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}

// xreadsOver counts the XREADs served during d.
func xreadsOver(t *testing.T, e *env, d time.Duration) int {
	t.Helper()
	before := xreads(t, e)
	time.Sleep(d)
	return xreads(t, e) - before
}

// takeIDs reads n messages from ch as "id event" (the event's id: the SSE
// id is on the last event of a stream entry only).
func takeIDs(t *testing.T, ch <-chan sseMsg, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		m := next(t, ch)
		if m.id != "" && m.id != m.data.ID {
			t.Fatalf("SSE id %s of an event with id %s", m.id, m.data.ID)
		}
		ids = append(ids, m.data.ID+" "+m.event)
	}
	return ids
}

// byZone splits "id event" lines by the id's zone, in their order: the
// order a stream promises is each zone's.
func byZone(ids []string) map[string][]string {
	out := map[string][]string{}
	for _, id := range ids {
		z := id[strings.IndexByte(id, '@')+1 : strings.IndexByte(id, ' ')]
		out[z] = append(out[z], id)
	}
	return out
}

// TestEventsSharedReader: 50 streams on one server get every event of a
// burst exactly once and in order, the reads of Redis do not grow with the
// number of streams, and a stream resumed after a disconnect gets what it
// missed.
func TestEventsSharedReader(t *testing.T) {
	e, hub, srv := newHubEnv(t, 20*time.Millisecond, feed.HubOptions{})
	one := openEvents(t, srv.URL)
	waitSubscribers(t, hub, 1) // past its catch-up
	with1 := xreadsOver(t, e, time.Second)
	many := []<-chan sseMsg{one}
	for range 49 {
		many = append(many, openEvents(t, srv.URL))
	}
	waitSubscribers(t, hub, 50)
	with50 := xreadsOver(t, e, time.Second)
	t.Logf("XREAD calls in 1s: %d with 1 stream, %d with 50 (hub subscribers %d)", with1, with50, hub.Stats().Subscribers)
	if with50 >= 2*with1 {
		t.Errorf("XREAD calls grow with the streams: %d with 1, %d with 50", with1, with50)
	}
	polling := newEnv(t) // no shared reader: each stream polls, for the log
	psrv := httptest.NewServer(polling.router)
	t.Cleanup(psrv.Close)
	for range 50 {
		openEvents(t, psrv.URL)
	}
	t.Logf("XREAD calls in 1s with 50 streams that each poll: %d", xreadsOver(t, polling, time.Second))

	// A mark before the burst: ZA-07's change, whose id the streams that
	// join later resume after.
	e.apply(t, "ZA-07", true, t0)
	var mark string
	for _, ch := range many {
		next(t, ch)
		mark = next(t, ch).id
	}
	// The burst: 20 changes in ZA and ZB, 2 events each, over several reads.
	spaces := []string{"ZA-01", "ZA-02", "ZB-01", "ZB-02"}
	const rounds = 5
	var joined <-chan sseMsg // catches up from the mark while the burst goes on
	for r := range rounds {
		for _, sp := range spaces {
			e.apply(t, sp, r%2 == 0, t0.Add(time.Duration(r)*time.Second))
		}
		if r == 2 {
			joined = openEvents(t, srv.URL, "Last-Event-ID", mark)
		}
		time.Sleep(15 * time.Millisecond)
	}
	const n = rounds * 4 * 2
	want := byZone(takeIDs(t, openEvents(t, srv.URL, "Last-Event-ID", mark), n)) // read by its catch-up
	for i, ch := range append(many, joined) {
		if got := byZone(takeIDs(t, ch, n)); !maps.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("stream %d got\n%v\nwant\n%v", i, got, want)
		}
		select {
		case m := <-ch:
			t.Fatalf("stream %d got one more: %+v", i, m)
		default:
		}
	}

	t.Run("resume after a disconnect", func(t *testing.T) {
		first := openEvents(t, srv.URL)
		e.apply(t, "ZA-03", true, t0.Add(time.Minute))
		next(t, first)            // the space's event, without an SSE id
		last := next(t, first).id // the zone's, with the entry's; then it goes: two changes it misses
		if last == "" {
			t.Fatal("the zone's event has no SSE id")
		}
		e.apply(t, "ZA-03", false, t0.Add(2*time.Minute))
		e.apply(t, "ZB-03", true, t0.Add(2*time.Minute))
		resumed := openEvents(t, srv.URL, "Last-Event-ID", last)
		// In ZA exactly what follows last; in ZB the entries from
		// EventResumeWindow before it may come again first.
		var za []string
		gotZB := false
		for len(za) < 2 || !gotZB {
			m := next(t, resumed)
			if m.data.ZoneID == "ZA" {
				za = append(za, m.event+" "+m.data.SpaceID+" "+m.data.Status)
			}
			gotZB = gotZB || m.data.SpaceID == "ZB-03" && m.data.Status == "occupied"
		}
		if want := "[space ZA-03 free zone  ]"; fmt.Sprint(za) != want {
			t.Errorf("ZA after %s: %v, want %s", last, za, want)
		}
	})
}

// stuckWriter is a ResponseWriter whose writes after the first block until
// release is closed: a client that stopped reading.
type stuckWriter struct {
	*httptest.ResponseRecorder
	writes  atomic.Int32
	release chan struct{}
}

func (w *stuckWriter) Write(b []byte) (int, error) {
	if w.writes.Add(1) > 1 {
		<-w.release
	}
	return w.ResponseRecorder.Write(b)
}

// TestEventsSlowClient: a stream whose client does not keep up is dropped
// and ends, while another keeps receiving every event.
func TestEventsSlowClient(t *testing.T) {
	e, hub, srv := newHubEnv(t, 10*time.Millisecond, feed.HubOptions{Buffer: 2})
	fast := openEvents(t, srv.URL)
	slow := &stuckWriter{ResponseRecorder: httptest.NewRecorder(), release: make(chan struct{})}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		e.router.ServeHTTP(slow, httptest.NewRequest("GET", "/api/v1/events", nil))
	}()
	waitSubscribers(t, hub, 2)
	const rounds = 8
	for r := range rounds { // a read each: more than the slow stream's 2 waiting batches
		e.apply(t, "ZA-01", r%2 == 0, t0.Add(time.Duration(r)*time.Second))
		time.Sleep(40 * time.Millisecond)
	}
	if got := takeIDs(t, fast, 2*rounds); len(got) != 2*rounds {
		t.Fatalf("the other stream got %d events, want %d", len(got), 2*rounds)
	}
	if st := hub.Stats(); st.Dropped != 1 || st.Subscribers != 1 {
		t.Errorf("hub %+v, want the slow stream dropped and the other one left", st)
	}
	close(slow.release) // the client reads again: its stream ends
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the dropped stream did not end")
	}
	e.apply(t, "ZA-02", true, t0.Add(time.Hour))
	if m := next(t, fast); m.data.SpaceID != "ZA-02" {
		t.Errorf("the other stream then got %+v, want ZA-02", m)
	}
}

// TestEventsStalledClientEnds: a client that stops reading has its stream
// ended once a write has waited EventWriteTimeout (its TCP window full),
// instead of holding the handler, its subscription and its stream slot for
// as long as the connection lives. The hub's buffer is large, so it is the
// write deadline that ends it, not the hub dropping a slow subscriber. With
// one stream allowed per client address, the client gets a new one once
// the stalled one has ended.
func TestEventsStalledClientEnds(t *testing.T) {
	e, hub, srv := newHubEnv(t, 5*time.Millisecond, feed.HubOptions{Buffer: 1 << 16}, func(o *Options) {
		o.EventWriteTimeout = 300 * time.Millisecond
		o.EventMaxPerIP = 1
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := fmt.Fprintf(conn, "GET /api/v1/events HTTP/1.1\r\nHost: parkd\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); hub.Stats().Subscribers != 1; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the stream does not follow the hub after 5s")
		}
	}

	// 10 KB events until the socket buffers are full and the handler's
	// writes wait; the client never reads.
	big := json.RawMessage(`"` + strings.Repeat("x", 10<<10) + `"`)
	zone := e.reg.Zones()[0].ID
	deadline := time.Now().Add(20 * time.Second)
	for hub.Stats().Subscribers > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream of a client that stopped reading is still open after 20s")
		}
		for range 50 {
			if _, err := e.store.Publish(context.Background(), occupancy.Event{Type: occupancy.EventZone, ZoneID: zone, Data: big}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := hub.Stats().Dropped; d != 0 {
		t.Errorf("the hub dropped %d subscribers: the write deadline should have ended the stream", d)
	}
	storetest.Eventually(t, 5*time.Second, func() string {
		if s := openStream(t, http.DefaultClient, srv.URL); s.status != http.StatusOK {
			return fmt.Sprintf("a new stream after the stalled one ended: %d", s.status)
		}
		return ""
	})
}

// TestEventsSharedReaderIncidentsForStaff: the shared reader's batches are
// rendered once for the public streams and once for the staff's: an
// incident reaches a staff stream only, both get the space events around
// it, in order.
func TestEventsSharedReaderIncidentsForStaff(t *testing.T) {
	e, hub, srv := newHubEnv(t, 5*time.Millisecond, feed.HubOptions{})
	public := openEvents(t, srv.URL)
	staff := openEvents(t, srv.URL, "Authorization", "Bearer "+viewerToken)
	waitSubscribers(t, hub, 2)
	e.apply(t, "ZA-01", true, t0)
	inc, _ := json.Marshal(map[string]string{"id": "overstay|ZA-01|1"})
	if _, err := e.store.Publish(context.Background(), occupancy.Event{Type: occupancy.EventIncident,
		ZoneID: "ZA", SpaceID: "ZA-01", Status: "open", Data: inc}); err != nil {
		t.Fatal(err)
	}
	e.apply(t, "ZA-02", true, t0)
	for name, tc := range map[string]struct {
		ch   <-chan sseMsg
		want string
	}{"public": {public, "[space zone space zone]"}, "staff": {staff, "[space zone incident space zone]"}} {
		var got []string
		for range strings.Count(tc.want, " ") + 1 {
			got = append(got, next(t, tc.ch).event)
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("%s stream got %v, want %s", name, got, tc.want)
		}
	}
}

// TestEventsStalledClientsDoNotHoldUpOthers: the streams' writes take
// turns, but a stream whose client stopped reading, blocked in its write
// until the write deadline (10 s here), does not keep its turn from the
// others: with more stalled streams than turns, a stream that reads still
// gets a change within a couple of seconds.
func TestEventsStalledClientsDoNotHoldUpOthers(t *testing.T) {
	e, hub, srv := newHubEnv(t, 5*time.Millisecond, feed.HubOptions{Buffer: 1 << 16, MaxPending: 1 << 30}, func(o *Options) {
		o.EventWriteTimeout = 10 * time.Second
	})
	const bigs = 500 // 5 MB for every stream: the stalled ones' socket buffers fill, their writes block
	reader := openEvents(t, srv.URL)
	flooded, got := make(chan struct{}), make(chan time.Time, 1)
	go func() {
		n := 0
		for m := range reader {
			if n++; m.data.ZoneID == "ZB" && n == bigs {
				close(flooded) // the stalled streams had as long to write it all
			}
			if m.data.SpaceID == "ZA-05" {
				got <- time.Now()
				return
			}
		}
	}()
	stalled := runtime.GOMAXPROCS(0) + 2 // more than the turns
	for range stalled {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.(*net.TCPConn).SetReadBuffer(4096)
		fmt.Fprintf(conn, "GET /api/v1/events HTTP/1.1\r\nHost: parkd\r\n\r\n")
	}
	waitSubscribers(t, hub, stalled+1)
	big := json.RawMessage(`"` + strings.Repeat("x", 10<<10) + `"`)
	for range bigs {
		if _, err := e.store.Publish(context.Background(), occupancy.Event{Type: occupancy.EventZone, ZoneID: "ZB", Data: big}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-flooded:
	case <-time.After(20 * time.Second):
		t.Fatal("the reading stream did not get the flood within 20 s")
	}
	start := time.Now()
	e.apply(t, "ZA-05", true, t0)
	select {
	case at := <-got:
		t.Logf("the reading stream got the change %v after it", at.Sub(start).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		t.Fatalf("the reading stream did not get the change within 3 s: %d stalled streams hold the turns", stalled)
	}
}
