package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// startHub runs a hub over s until the test ends and waits until it takes
// subscriptions.
func startHub(t *testing.T, s *redisstore.Store, opts redisstore.EventHubOptions) *redisstore.EventHub {
	t.Helper()
	h := redisstore.NewEventHub(s, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(5 * time.Second); ; {
		if sub := h.Subscribe(context.Background()); sub != nil {
			sub.Close()
			return h
		}
		if time.Now().After(deadline) {
			t.Fatal("hub not running after 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hubIDs takes sub's events, through cur's Unseen, until want ids came or a
// second passes without any.
func hubIDs(sub *redisstore.EventSub, cur *redisstore.EventCursor, want int) []string {
	var ids []string
	for len(ids) < want {
		select {
		case evs, ok := <-sub.Events():
			if !ok {
				return ids
			}
			for _, e := range cur.Unseen(evs) {
				ids = append(ids, e.ID+" "+string(e.Type))
			}
		case <-time.After(time.Second):
			return ids
		}
	}
	return ids
}

// TestEventHub: 50 subscribers get every event of a burst exactly once and
// in order, while one that does not read is dropped.
func TestEventHub(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := newStore(t, rdb, &clock{now: t0})
		h := startHub(t, s, redisstore.EventHubOptions{Poll: 5 * time.Millisecond, Buffer: 4})
		ref, err := s.EventsNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		subs := make([]*redisstore.EventSub, 50)
		curs := make([]*redisstore.EventCursor, len(subs))
		for i := range subs {
			subs[i] = h.Subscribe(context.Background())
			t.Cleanup(subs[i].Close)
			if curs[i], err = s.EventsNow(ctx); err != nil {
				t.Fatal(err)
			}
		}
		slow := h.Subscribe(context.Background())
		got := make([][]string, len(subs))
		read := make(chan int)
		const rounds = 10
		for r := range rounds { // each round a batch of its own
			mustApply(t, s, reading("S1", r%2 == 0, t0.Add(time.Duration(r)*time.Second), uint64(r+1)), occupancy.ResultApplied)
			mustApply(t, s, reading("S5", r%2 == 0, t0.Add(time.Duration(r)*time.Second), uint64(r+1)), occupancy.ResultApplied)
			time.Sleep(30 * time.Millisecond)
			if r == 1 { // the readers read as the burst goes on
				for i := range subs {
					go func() { got[i] = hubIDs(subs[i], curs[i], 4*rounds); read <- i }()
				}
			}
		}
		for range subs {
			<-read
		}
		want := streamIDs(t, s, ref)
		if len(want) != 4*rounds {
			t.Fatalf("the streams hold %d events, want %d", len(want), 4*rounds)
		}
		for i := range subs {
			if !slices.Equal(got[i], want) {
				t.Fatalf("subscriber %d got %d events\n%v\nwant %d\n%v", i, len(got[i]), got[i], len(want), want)
			}
		}
		if !slow.Overflowed() {
			t.Error("the subscriber that never read was not dropped")
		}
		if drain(slow) {
			t.Error("the dropped subscriber's channel is still open")
		}
		if st := h.Stats(); st.Dropped != 1 || st.Subscribers != len(subs) {
			t.Errorf("stats %+v, want 1 dropped and %d subscribers", st, len(subs))
		}
	})
}

// streamIDs reads the streams from ref and returns their events as
// hubIDs does (id and type), in order.
func streamIDs(t *testing.T, s *redisstore.Store, ref *redisstore.EventCursor) []string {
	t.Helper()
	evs, err := s.ReadEvents(context.Background(), ref, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID+" "+string(e.Type))
	}
	return ids
}

// drain reads sub's channel until it is closed (false) or empty (true: still
// open).
func drain(sub *redisstore.EventSub) bool {
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				return false
			}
		default:
			return true
		}
	}
}

// TestEventHubStops: when Run ends, subscriptions are closed and new ones
// refused.
func TestEventHubStops(t *testing.T) {
	s := newStore(t, backends[0].start(t), &clock{now: t0})
	h := redisstore.NewEventHub(s, redisstore.EventHubOptions{})
	if h.Subscribe(context.Background()) != nil {
		t.Fatal("a hub that does not run took a subscription")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	var sub *redisstore.EventSub
	for deadline := time.Now().Add(5 * time.Second); sub == nil && time.Now().Before(deadline); {
		sub = h.Subscribe(context.Background())
		time.Sleep(5 * time.Millisecond)
	}
	if sub == nil {
		t.Fatal("hub not running after 5s")
	}
	cancel()
	<-done
	if _, ok := <-sub.Events(); ok || sub.Overflowed() {
		t.Errorf("subscription not closed (or marked overflowed: %v) when the hub stopped", sub.Overflowed())
	}
	if h.Subscribe(context.Background()) != nil {
		t.Error("a stopped hub took a subscription")
	}
	sub.Close() // again: no panic
}

// TestEventCursorUnseen: Unseen keeps what follows the cursor in each zone,
// both events of one entry, and moves the cursor.
func TestEventCursorUnseen(t *testing.T) {
	ev := func(id string, typ occupancy.EventType) occupancy.Event { return occupancy.Event{ID: id, Type: typ} }
	sp, zn := occupancy.EventSpace, occupancy.EventZone
	s := newStore(t, backends[1].start(t), &clock{now: t0})
	cur, err := s.EventsAfter("5-0@A") // zone A after 5-0, the others from the start
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		in   []occupancy.Event
		want string
	}{
		{"at or before the position: dropped", []occupancy.Event{ev("4-0@A", sp), ev("5-0@A", sp), ev("5-0@A", zn)}, "[]"},
		{"after it: kept, both events of an entry", []occupancy.Event{ev("5-0@A", zn), ev("6-0@A", sp), ev("6-0@A", zn)}, "[6-0@A 6-0@A]"},
		{"the same entry again: dropped", []occupancy.Event{ev("6-0@A", sp), ev("6-0@A", zn), ev("6-1@A", sp)}, "[6-1@A]"},
		{"other zones from their own position", []occupancy.Event{ev("1-0@B", sp), ev("1-0@B", zn), ev("7-0@Q", sp)}, "[1-0@B 1-0@B 7-0@Q]"},
		{"not an event id: dropped", []occupancy.Event{ev("8-0", sp)}, "[]"},
	}
	for _, tc := range steps {
		var ids []string
		for _, e := range cur.Unseen(tc.in) {
			ids = append(ids, e.ID)
		}
		if got := fmt.Sprint(ids); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestEventHubOnRedisCluster: on a Cluster the hub reads the zones' streams,
// spread over the masters, one by one, and a subscriber gets every event.
func TestEventHubOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node Redis Cluster")
	}
	ctx := context.Background()
	_, rdb := startCluster(t)
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: clusterRegistry(t), Now: (&clock{now: t0}).Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, s, redisstore.EventHubOptions{Poll: 5 * time.Millisecond})
	sub := h.Subscribe(context.Background())
	defer sub.Close()
	cur, err := s.EventsNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.EventsNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sensor := range []string{"S1", "S5", "S7", "S8"} { // zones A, B, C, D
		mustApply(t, s, reading(sensor, true, t0, 1), occupancy.ResultApplied)
	}
	evs, err := s.ReadEvents(ctx, ref, 100)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]bool{}
	var want []string
	for _, e := range evs {
		want = append(want, e.ID+" "+string(e.Type))
		zones[e.ZoneID] = true
	}
	if len(zones) != 4 {
		t.Fatalf("ReadEvents on the Cluster: %v, want events of 4 zones", want)
	}
	got := hubIDs(sub, cur, len(want))
	slices.Sort(got) // compared as sets: the order promised is only each zone's
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("hub on the Cluster gave %v, want %v", got, want)
	}
}

// TestEventHubOutlivesARedisRestart: while Redis is down the hub keeps its
// position, and after Redis is back its subscribers get the new events.
func TestEventHubOutlivesARedisRestart(t *testing.T) {
	rds := testenv.MustStartRedis(t)
	s := newStore(t, rds.Client(t), &clock{now: t0})
	h := startHub(t, s, redisstore.EventHubOptions{Poll: 5 * time.Millisecond})
	sub := h.Subscribe(context.Background())
	defer sub.Close()
	cur, err := s.EventsNow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied)
	if got := hubIDs(sub, cur, 2); len(got) != 2 {
		t.Fatalf("before the restart: %v", got)
	}
	rds.Stop(t)
	time.Sleep(100 * time.Millisecond) // the hub's reads fail
	rds.Start(t)
	mustApply(t, s, reading("S5", true, t0, 1), occupancy.ResultApplied)
	got := hubIDs(sub, cur, 2)
	if len(got) != 2 || !strings.HasSuffix(got[0], "@B space") {
		t.Fatalf("after the restart: %v, want B-1's space and zone events", got)
	}
}

// TestEventHubIdleReadsNothing: without subscribers the hub sends Redis no
// command; a subscriber that comes after a quiet spell gets every event
// published once Subscribe returned, and none of those before it.
func TestEventHubIdleReadsNothing(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.MustStartRedis(t).Client(t)
	s := newStore(t, rdb, &clock{now: t0})
	h := startHub(t, s, redisstore.EventHubOptions{Poll: 2 * time.Millisecond})
	mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied) // before anyone listens
	time.Sleep(20 * time.Millisecond)                                    // the hub sees it has no one
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // 50 polls
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(info, "cmdstat_xread") || strings.Contains(info, "cmdstat_xrevrange") {
		t.Errorf("an idle hub read the streams:\n%s", info)
	}

	sub := h.Subscribe(ctx)
	if sub == nil {
		t.Fatal("no subscription")
	}
	defer sub.Close()
	mustApply(t, s, reading("S2", false, t0, 1), occupancy.ResultApplied)
	var got []string
	for len(got) < 2 {
		select {
		case evs := <-sub.Events():
			for _, e := range evs {
				got = append(got, string(e.Type)+" "+e.SpaceID)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("after 2s the subscriber has %v, want the space and zone events of A-2", got)
		}
	}
	if want := []string{"space A-2", "zone "}; !slices.Equal(got, want) {
		t.Errorf("subscriber got %v, want %v (nothing from before it subscribed)", got, want)
	}
}

// TestEventHubReadsABurstInSmallReads: with MaxRead 1 (the test town has 2
// zones) each read takes one entry a zone, so a burst comes in many small
// batches, all of it, in order.
func TestEventHubReadsABurstInSmallReads(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.MustStartRedis(t).Client(t)
	s := newStore(t, rdb, &clock{now: t0})
	h := startHub(t, s, redisstore.EventHubOptions{Poll: time.Millisecond, MaxRead: 1})
	ref, err := s.EventsNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub := h.Subscribe(ctx)
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
		case evs := <-sub.Events():
			if len(evs) > 1 { // one entry: the space's event (these carry no counts)
				t.Errorf("a batch of %d events, want at most 1", len(evs))
			}
			for _, e := range evs {
				got = append(got, e.ID+" "+string(e.Type))
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("got %d events, want %d", len(got), n)
		}
	}
	if want := streamIDs(t, s, ref); !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}
