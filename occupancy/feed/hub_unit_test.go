package feed_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// zoneBatch is a batch of one zone event at position i-0 of zone A.
func zoneBatch(i int) feed.Batch {
	return feed.Batch{Events: []occupancy.Event{{ID: fmt.Sprintf("%d-0@A", i), Type: occupancy.EventZone, ZoneID: "A",
		Zone: &occupancy.ZoneEventData{Counts: occupancy.Counts{Total: 2, Free: i % 2, Occupied: 1 - i%2}}}}, ReadAt: time.Now()}
}

// received takes what is waiting on sub without waiting: the batches' ids
// and data, and whether the channel is closed.
func received(sub *feed.Sub) (got []string, closed bool) {
	for {
		select {
		case d, ok := <-sub.Deliveries():
			if !ok {
				return got, true
			}
			for _, e := range d.Events {
				got = append(got, e.ID+" "+string(e.Data))
			}
		default:
			return got, false
		}
	}
}

// TestHubDropsASubscriberThatFallsBehind: the hub never waits for a
// subscriber: one whose buffer is full is dropped (its channel closed after
// what it holds, Overflowed), the others get every batch with events
// delivered after they subscribed, each zone event's data marshalled.
func TestHubDropsASubscriberThatFallsBehind(t *testing.T) {
	ctx := context.Background()
	h := feed.NewHub(feed.HubOptions{Buffer: 2})
	runHub(t, h)
	h.Deliver(ctx, zoneBatch(0)) // before anyone subscribed: for no one
	fast, slow := h.Subscribe(), h.Subscribe()
	defer fast.Close()
	var got []string
	for i := 1; i <= 3; i++ {
		h.Deliver(ctx, zoneBatch(i))
		h.Deliver(ctx, feed.Batch{ReadAt: time.Now()}) // nothing happened: nothing to send
		evs, _ := received(fast)
		got = append(got, evs...)
	}
	want := []string{`1-0@A {"total":2,"free":1,"occupied":0,"unknown":0,"closed":0}`,
		`2-0@A {"total":2,"free":0,"occupied":1,"unknown":0,"closed":0}`,
		`3-0@A {"total":2,"free":1,"occupied":0,"unknown":0,"closed":0}`}
	if !slices.Equal(got, want) {
		t.Errorf("the subscriber that keeps up got %q, want %q", got, want)
	}
	if fast.Overflowed() {
		t.Error("the subscriber that keeps up was dropped")
	}
	held, closed := received(slow)
	if len(held) != 2 || !closed || !slow.Overflowed() {
		t.Errorf("the subscriber that never read: holds %q, closed %v, overflowed %v; want its 2 batches, then closed and overflowed",
			held, closed, slow.Overflowed())
	}
	slow.Close() // after the hub dropped it: no panic
	if st := h.Stats(); st.Dropped != 1 || st.Subscribers != 1 {
		t.Errorf("stats %+v, want 1 dropped and 1 subscriber", st)
	}
}

// TestHubRunsUntilItsContextEnds: the hub takes subscriptions only while
// Run runs; when Run ends, subscriptions are closed (not as overflowed) and
// new ones refused.
func TestHubRunsUntilItsContextEnds(t *testing.T) {
	h := feed.NewHub(feed.HubOptions{})
	if h.Subscribe() != nil {
		t.Fatal("a hub that does not run took a subscription")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var sub *feed.Sub
	storetest.Eventually(t, 10*time.Second, func() string {
		if sub = h.Subscribe(); sub == nil {
			return "the hub takes no subscription"
		}
		return ""
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10s after its context ended")
	}
	if _, closed := received(sub); !closed || sub.Overflowed() {
		t.Errorf("subscription closed %v, overflowed %v: want closed, not overflowed", closed, sub.Overflowed())
	}
	if h.Subscribe() != nil {
		t.Error("a stopped hub took a subscription")
	}
	sub.Close() // again: no panic
	if st := h.Stats(); st.Subscribers != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want no subscriber, none dropped", st)
	}
}

// TestHubDeliveryMemoIsMadeOnce: every subscriber gets the same Delivery
// of a batch, and what they make of it through Memo is made once.
func TestHubDeliveryMemoIsMadeOnce(t *testing.T) {
	h := feed.NewHub(feed.HubOptions{})
	runHub(t, h)
	subs := []*feed.Sub{h.Subscribe(), h.Subscribe(), h.Subscribe()}
	h.Deliver(context.Background(), zoneBatch(1))
	made := 0
	var memos []any
	for _, sub := range subs {
		d := <-sub.Deliveries()
		memos = append(memos, d.Memo(func(evs []occupancy.Event) any { made++; return &evs[0] }))
		sub.Close()
	}
	if made != 1 || memos[0] != memos[1] || memos[1] != memos[2] {
		t.Errorf("memo made %d times, memos %v: want one, shared", made, memos)
	}
}

// TestHubDropsASubscriberTooManyEventsBehind: past MaxPending events not
// taken, a subscriber is dropped however few batches that is; taking them
// (Took) keeps it; a batch larger than the bound still goes to a
// subscriber that has nothing waiting.
func TestHubDropsASubscriberTooManyEventsBehind(t *testing.T) {
	ctx := context.Background()
	h := feed.NewHub(feed.HubOptions{MaxPending: 5})
	runHub(t, h)
	three := feed.Batch{Events: append(append(zoneBatch(1).Events, zoneBatch(2).Events...), zoneBatch(3).Events...)}
	six := feed.Batch{Events: append(three.Events, three.Events...)}
	taker, idle := h.Subscribe(), h.Subscribe()
	defer taker.Close()
	h.Deliver(ctx, six) // 6 > 5, but neither has anything waiting
	taker.Took(<-taker.Deliveries())
	h.Deliver(ctx, three)
	taker.Took(<-taker.Deliveries())
	h.Deliver(ctx, three)
	if taker.Overflowed() || !idle.Overflowed() {
		t.Errorf("overflowed: the subscriber that takes %v, the one that never does %v; want false, true",
			taker.Overflowed(), idle.Overflowed())
	}
	if st := h.Stats(); st.Dropped != 1 || st.Subscribers != 1 {
		t.Errorf("stats %+v, want 1 dropped, 1 left", st)
	}
}
