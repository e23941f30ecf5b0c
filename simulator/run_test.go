package simulator

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/qiuai/parking/internal/testenv"
)

// subscriber collects every message published on the sensor topics.
type subscriber struct {
	mu   sync.Mutex
	msgs []recorded
}

func (s *subscriber) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// subscribe connects a QoS 1 subscriber to every sensor topic.
func subscribe(tb testing.TB, url string) *subscriber {
	tb.Helper()
	sub := &subscriber{}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID("test-sub").SetOrderMatters(true)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscriber connect: %v", tok.Error())
	}
	tb.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(TopicPrefix+"+"+TopicSuffix, 1, func(_ mqtt.Client, m mqtt.Message) {
		sub.mu.Lock()
		sub.msgs = append(sub.msgs, recorded{topic: m.Topic(), payload: m.Payload()})
		sub.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscribe: %v", tok.Error())
	}
	return sub
}

// TestRunAgainstMosquitto runs the simulator for about 3 s against a real
// broker with every fault on, until its Duration or until its context is
// cancelled, and checks what a subscriber receives.
func TestRunAgainstMosquitto(t *testing.T) {
	tests := []struct {
		name        string
		duration    time.Duration
		cancelAfter time.Duration
	}{
		{"until Duration", 3 * time.Second, 0},
		{"until cancelled", 0, 2500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			broker := testenv.MustStartMosquitto(t)
			sub := subscribe(t, broker.URL)
			var progress bytes.Buffer
			s, err := New(Options{
				BrokerURL: broker.URL, Registry: testRegistry(t, 50), Start: tuesday10, Seed: 1,
				Duration: tc.duration, StartupSpread: time.Second, Heartbeat: time.Second,
				Faults:   Faults{DuplicatePct: 20, ReorderPct: 10, MalformedPct: 10, SilentPct: 10},
				Progress: &progress, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.cancelAfter)
				defer cancel()
			}
			if err := s.Run(ctx); err != nil {
				t.Fatalf("Run: %v", err)
			}
			st := s.Stats()
			t.Logf("%s", st.Summary())
			if st.Errors != 0 || st.Acked != st.Sent {
				t.Fatalf("sent %d, acked %d, errors %d: want every message acknowledged", st.Sent, st.Acked, st.Errors)
			}
			waitFor(t, func() bool { return sub.count() >= int(st.Sent) })
			if got := sub.count(); got != int(st.Sent) {
				t.Fatalf("subscriber got %d messages, simulator sent %d", got, st.Sent)
			}
			checkReceived(t, s, sub.msgs)
			if lines := strings.Count(progress.String(), "msg/s"); lines < 2 {
				t.Errorf("%d progress lines, want one a second:\n%s", lines, progress.String())
			}
			if err := s.Run(context.Background()); err == nil {
				t.Error("a second Run succeeded")
			}
		})
	}
}

// checkReceived checks the stream a subscriber received against the
// simulator's stats and truth.
func checkReceived(t *testing.T, s *Simulator, msgs []recorded) {
	t.Helper()
	st := s.Stats()
	a := analyse(t, msgs, time.Now())
	if a.malformed != int(st.Malformed) || st.Malformed == 0 {
		t.Errorf("received %d malformed, sent %d", a.malformed, st.Malformed)
	}
	if st.Malformed >= hugeEvery && a.huge == 0 {
		t.Errorf("no payload over 64 KiB arrived among %d malformed", st.Malformed)
	}
	truth := s.Truth()
	dups := 0
	for _, sn := range s.sensors {
		got := a.valid[sn.space.SensorID]
		if sn.silent {
			if len(got) > 0 {
				t.Errorf("silent sensor %s sent %d messages", sn.space.SensorID, len(got))
			}
			continue
		}
		copies := map[uint64]int{}
		var newest arrived
		for _, m := range got {
			if copies[m.seq]++; copies[m.seq] > 1 {
				dups++
			}
			if m.seq > newest.seq {
				newest = m
			}
		}
		if copies[1] == 0 {
			t.Errorf("%s: first message never arrived", sn.space.ID)
		}
		exp := truth[sn.space.ID]
		if exp.Seq != newest.seq || exp.Occupied != newest.occupied || !exp.TS.Equal(newest.ts) {
			t.Errorf("%s: truth %+v, newest received %+v", sn.space.ID, exp, newest)
		}
	}
	if dups != int(st.Duplicates) || dups == 0 {
		t.Errorf("received %d duplicates, sent %d", dups, st.Duplicates)
	}
}

// testWriter sends log output to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
