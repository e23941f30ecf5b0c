package simulator

import (
	"context"
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
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID("test-persistent-sub").
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).
		SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(c mqtt.Client) { c.Subscribe(TopicPrefix+"+"+TopicSuffix, 1, handler) })
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscriber connect: %v", tok.Error())
	}
	tb.Cleanup(func() { c.Disconnect(100) })
	time.Sleep(200 * time.Millisecond) // let OnConnect subscribe
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
	s, err := New(Options{BrokerURL: broker.URL, Registry: testRegistry(t, 100), Start: tuesday10,
		Duration: 6 * time.Second, StartupSpread: time.Second, Heartbeat: 500 * time.Millisecond,
		Faults: Faults{DuplicatePct: 5, ReorderPct: 5}, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	time.Sleep(2 * time.Second)
	broker.Stop(t)
	time.Sleep(time.Second)
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
	deadline := time.Now().Add(15 * time.Second)
	for _, sn := range s.sensors {
		want := truth[sn.space.ID].Seq
		for sub.get(sn.space.SensorID) < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := sub.get(sn.space.SensorID); got != want {
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
	time.Sleep(1500 * time.Millisecond)
	broker.Kill(t)
	time.Sleep(time.Second) // the publishers block with 50 messages each in flight
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
