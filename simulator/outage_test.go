package simulator

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/qiuai/parking/internal/testenv"
)

// newestTracker follows the newest valid reading of each sensor that a
// persistent-session subscriber receives.
type newestTracker struct {
	mu     sync.Mutex
	newest map[string]uint64
}

func (n *newestTracker) get(sensor string) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.newest[sensor]
}

// subscribePersistent connects a subscriber with a persistent session, so
// that what the broker queued for it survives a broker restart.
func subscribePersistent(tb testing.TB, url string) *newestTracker {
	tb.Helper()
	nt := &newestTracker{newest: map[string]uint64{}}
	handler := func(_ mqtt.Client, m mqtt.Message) {
		if w, _, ok := decodeValid(m.Payload(), time.Now()); ok {
			nt.mu.Lock()
			id := sensorOf(m.Topic())
			nt.newest[id] = max(nt.newest[id], w.Seq)
			nt.mu.Unlock()
		}
	}
	subscribed := make(chan struct{})
	var once sync.Once
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID("test-persistent-sub").
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).
		SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(c mqtt.Client) {
			if tok := c.Subscribe(TopicPrefix+"+"+TopicSuffix, 1, handler); tok.Wait() && tok.Error() == nil {
				once.Do(func() { close(subscribed) })
			}
		})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscriber connect: %v", tok.Error())
	}
	tb.Cleanup(func() { c.Disconnect(100) })
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		tb.Fatal("the subscriber did not subscribe within 10s")
	}
	return nt
}

// TestBrokerRestart restarts the broker in the middle of a run: the
// simulator reconnects and resends what was not acknowledged, so every
// message is acknowledged and every sensor's newest reading arrives.
func TestBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a broker")
	}
	broker := testenv.MustStartMosquitto(t)
	sub := subscribePersistent(t, broker.URL)
	var log testenv.SyncBuffer
	s, err := New(Options{BrokerURL: broker.URL, Registry: testRegistry(t, 100), Start: tuesday10,
		Duration: 6 * time.Second, StartupSpread: time.Second, Heartbeat: 500 * time.Millisecond,
		Faults: Faults{DuplicatePct: 5, ReorderPct: 5}, Logger: slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, &log), nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	waitFor(t, func() bool { return s.Stats().Acked >= 800 }) // the run well under way: each sensor has sent twice
	broker.Stop(t)
	waitFor(t, func() bool { return len(log.Lines("connection to broker lost")) == 2 }) // both connections
	broker.Start(t)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := s.Stats()
	t.Logf("%s", st.Summary())
	if st.Errors != 0 || st.Acked != st.Sent {
		t.Fatalf("sent %d, acked %d, errors %d: want every message acknowledged", st.Sent, st.Acked, st.Errors)
	}
	truth := s.Truth()
	waitFor(t, func() bool {
		for _, sn := range s.sensors {
			if sub.get(sn.space.SensorID) < truth[sn.space.ID].Seq {
				return false
			}
		}
		return true
	})
	for _, sn := range s.sensors {
		if got, want := sub.get(sn.space.SensorID), truth[sn.space.ID].Seq; got != want {
			t.Errorf("%s: newest seq received %d, truth %d", sn.space.SensorID, got, want)
		}
	}
}

// TestBrokerGone stops the broker for good in the middle of a run: once its
// context ends, Run gives up after DrainTimeout and counts what was never
// acknowledged as errors.
func TestBrokerGone(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	s, err := New(Options{BrokerURL: broker.URL, Registry: testRegistry(t, 100), Start: tuesday10,
		StartupSpread: time.Second, Heartbeat: 200 * time.Millisecond, DrainTimeout: time.Second, MaxInflight: 50})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { return s.Stats().Acked >= 400 }) // in the middle of the run: every sensor has sent
	broker.Kill(t)
	waitFor(t, func() bool { // the publishers are stuck: nothing acknowledged for a while, some messages in flight
		before := s.Stats()
		time.Sleep(300 * time.Millisecond)
		after := s.Stats()
		return after.Acked == before.Acked && after.Sent > after.Acked+after.Errors
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within DrainTimeout of its context ending")
	}
	st := s.Stats()
	t.Logf("%s", st.Summary())
	if st.Errors == 0 || st.Acked+st.Errors != st.Sent {
		t.Errorf("sent %d, acked %d, errors %d: want the unacknowledged counted as errors", st.Sent, st.Acked, st.Errors)
	}
}
