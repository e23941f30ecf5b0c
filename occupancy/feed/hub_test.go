package feed_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// runHub runs h until the test ends and waits until it takes
// subscriptions.
func runHub(t *testing.T, h *feed.Hub) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	storetest.Eventually(t, 10*time.Second, func() string {
		if sub := h.Subscribe(); sub != nil {
			sub.Close()
			return ""
		}
		return "the hub takes no subscription"
	})
}

// client is what GET /api/v1/events does with a hub: subscribe, catch up
// from the store with its own cursor (then call caughtUp), then follow the
// hub's batches through the cursor's Unseen. It returns the events it got
// once it has want of them, or when its subscription ends or 10 s pass.
func client(s *redisstore.Store, h *feed.Hub, cur *occupancy.EventCursor, want int, caughtUp func()) (got []string, err error) {
	sub := h.Subscribe()
	if sub == nil {
		return nil, fmt.Errorf("no subscription")
	}
	defer sub.Close()
	for {
		evs, _, err := s.ReadEvents(context.Background(), cur, 500, 0)
		if err != nil {
			return got, err
		}
		if len(evs) == 0 {
			break
		}
		got = append(got, lines(evs)...)
	}
	caughtUp()
	deadline := time.After(10 * time.Second)
	for len(got) < want {
		select {
		case d, ok := <-sub.Deliveries():
			if !ok {
				return got, fmt.Errorf("subscription ended (overflowed %v)", sub.Overflowed())
			}
			got = append(got, lines(cur.Unseen(d.Events))...)
		case <-deadline:
			return got, fmt.Errorf("10s passed")
		}
	}
	return got, nil
}

// TestHubClientsCatchUpThenFollow: clients join one by one while two zones
// change, each from a cursor taken before the changes (a Last-Event-ID):
// each gets every event once, each zone's in order, though part of them
// came from its own reads of the store and part from the hub (the second
// half of the changes waits until the first client has caught up, so that
// client takes at least those from the hub).
func TestHubClientsCatchUpThenFollow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, poll bool) {
		ctx := context.Background()
		s := storetest.NewStore(t, rdb, storetest.Registry(t), storetest.NewClock(storetest.T0).Now)
		h := feed.NewHub(feed.HubOptions{})
		runHub(t, h)
		runTailer(t, feed.TailerOptions{Source: s, Sinks: []feed.Sink{h}, Poll: poll, Zones: 2})
		const clients, changes = 12, 24
		curs := make([]*occupancy.EventCursor, clients+1)
		for i := range curs {
			var err error
			if curs[i], err = s.EventsNow(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		got, errs := make([][]string, clients), make([]error, clients)
		firstCaughtUp := make(chan struct{})
		for i := range changes {
			if i == changes/2 {
				<-firstCaughtUp
			}
			flip(t, s, "S1", i, 1)
			flip(t, s, "S5", i, 1)
			if k := i / 2; i%2 == 0 && k < clients {
				caughtUp := func() {}
				if k == 0 {
					caughtUp = sync.OnceFunc(func() { close(firstCaughtUp) })
				}
				wg.Go(func() {
					defer caughtUp() // also if it failed before
					got[k], errs[k] = client(s, h, curs[k], 2*2*changes, caughtUp)
				})
			}
		}
		wg.Wait()
		want := readAll(t, s, curs[clients])
		if len(want) != 2*2*changes {
			t.Fatalf("the streams hold %d events, want %d", len(want), 2*2*changes)
		}
		for i := range clients {
			if errs[i] != nil || len(got[i]) != len(want) || fmt.Sprint(byZone(got[i])) != fmt.Sprint(byZone(want)) {
				t.Errorf("client %d (%v) got %d events, by zone\n%v\nwant %d\n%v", i, errs[i], len(got[i]), byZone(got[i]),
					len(want), byZone(want))
			}
		}
		if st := h.Stats(); st.Dropped != 0 || st.Subscribers != 0 {
			t.Errorf("stats %+v, want none dropped, none left", st)
		}
	})
}

// TestHubReadsABurstInSmallReads: with MaxRead 1 (the test town has 2
// zones) each read takes one entry a zone, so a burst that lands at once
// comes in many small batches, all of it, in order.
func TestHubReadsABurstInSmallReads(t *testing.T) {
	ctx := context.Background()
	rdb := storetest.Backends[0].Start(t)
	s := storetest.NewStore(t, rdb, storetest.Registry(t), storetest.NewClock(storetest.T0).Now)
	h, rec := feed.NewHub(feed.HubOptions{}), &recorder{}
	runHub(t, h)
	runTailer(t, feed.TailerOptions{Source: s, Sinks: []feed.Sink{h, rec}, MaxRead: 1, Zones: 2})
	rec.waitBatches(t, 1)
	ref, err := s.EventsNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub := h.Subscribe()
	t.Cleanup(sub.Close)
	const n = 10
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error { // the entries land at once
		for i := range n {
			p.XAdd(ctx, &redis.XAddArgs{Stream: "pk:{A}:ev", Values: []any{"t", "space", "s", "A-1", "st", "fo"[i%2 : i%2+1]}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < n {
		select {
		case d := <-sub.Deliveries():
			evs := d.Events
			if len(evs) > 1 { // one entry: the space's event (these carry no counts)
				t.Errorf("a batch of %d events, want at most 1", len(evs))
			}
			got = append(got, lines(evs)...)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d events, want %d", len(got), n)
		}
	}
	if want := readAll(t, s, ref); !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

// TestEventCursorUnseen: Unseen, through which a client takes the hub's
// batches, keeps what follows the cursor in each zone, both events of one
// entry, and moves the cursor.
func TestEventCursorUnseen(t *testing.T) {
	ev := func(id string, typ occupancy.EventType) occupancy.Event { return occupancy.Event{ID: id, Type: typ} }
	sp, zn := occupancy.EventSpace, occupancy.EventZone
	cur := occupancy.NewEventCursor(occupancy.StartPosition)
	cur.Set("A", "5-0") // zone A after 5-0, the others from the start
	for _, tc := range []struct {
		name string
		in   []occupancy.Event
		want string
	}{
		{"at or before the position: dropped", []occupancy.Event{ev("4-0@A", sp), ev("5-0@A", sp), ev("5-0@A", zn)}, "[]"},
		{"after it: kept, both events of an entry", []occupancy.Event{ev("5-0@A", zn), ev("6-0@A", sp), ev("6-0@A", zn)}, "[6-0@A 6-0@A]"},
		{"the same entry again: dropped", []occupancy.Event{ev("6-0@A", sp), ev("6-0@A", zn), ev("6-1@A", sp)}, "[6-1@A]"},
		{"other zones from their own position", []occupancy.Event{ev("1-0@B", sp), ev("1-0@B", zn), ev("7-0@Q", sp)}, "[1-0@B 1-0@B 7-0@Q]"},
		{"not an event id: dropped", []occupancy.Event{ev("8-0", sp)}, "[]"},
	} {
		var ids []string
		for _, e := range cur.Unseen(tc.in) {
			ids = append(ids, e.ID)
		}
		if got := fmt.Sprint(ids); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestFeedOnRedisCluster: on a Cluster no read can block over the zones'
// streams (they are in different slots: CanBlock is false), so the tailer
// polls them, one XREAD each in a pipeline; a hub's client gets every
// event of every zone, each zone's in order.
func TestFeedOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node Redis Cluster")
	}
	ctx := context.Background()
	s := storetest.NewStore(t, testenv.MustStartRedisCluster(t, 3).Client(t), storetest.ClusterRegistry(t), storetest.NewClock(storetest.T0).Now)
	if s.CanBlock() {
		t.Fatal("a store on a Cluster says it can block")
	}
	h, rec := feed.NewHub(feed.HubOptions{}), &recorder{}
	runHub(t, h)
	runTailer(t, feed.TailerOptions{Source: s, Sinks: []feed.Sink{h, rec}, Zones: 4})
	rec.waitBatches(t, 1)
	cur, err := s.EventsNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.EventsNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var got []string
	go func() {
		defer close(done)
		got, err = client(s, h, cur, 4*2*3, func() {})
	}()
	for i := range 3 {
		for _, sensor := range []string{"S1", "S5", "S7", "S8"} { // zones A, B, C, D
			flip(t, s, sensor, i, 1)
		}
	}
	<-done
	want := readAll(t, s, ref)
	if zones := byZone(want); len(zones) != 4 || len(want) != 4*2*3 {
		t.Fatalf("the streams on the Cluster hold %d events of zones %v, want 24 of 4 zones", len(want), zones)
	}
	if err != nil || fmt.Sprint(byZone(got)) != fmt.Sprint(byZone(want)) {
		t.Errorf("the client (%v) got by zone\n%v\nwant\n%v", err, byZone(got), byZone(want))
	}
}
