package simulator

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// TestLoadAgainstMosquitto runs fixed-rate loads against a real broker and
// checks, from a subscriber, that every message is a valid native reading
// that is newer than its sensor's previous one and flips its occupancy, that
// the count, rate and sensor limits hold, and that samples describe
// messages that were really sent.
func TestLoadAgainstMosquitto(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	reg := testRegistry(t, 5)
	tests := []struct {
		name           string
		opts           LoadOptions
		minMsg, maxMsg int
		sensors        int
	}{
		{"count, flat out", LoadOptions{Rate: -1, Count: 3000}, 3000, 3000, len(reg.Spaces())},
		// At most the rate (plus the limiter's small burst); the lower bound
		// is loose because the suite shares 2 cores with other packages' tests.
		{"rate for a duration", LoadOptions{Rate: 500, Duration: 2 * time.Second, SampleEvery: 10}, 250, 1010, len(reg.Spaces())},
		{"two sensors", LoadOptions{Rate: -1, Count: 400, Sensors: 2, Connections: 3}, 400, 400, 2},
		// Stopped while messages are being handed to the clients: each one
		// handed over is still awaited and counted, none is an error.
		{"flat out, stopped by its duration", LoadOptions{Rate: -1, Duration: 300 * time.Millisecond}, 1, 1 << 30, len(reg.Spaces())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := subscribe(t, broker.URL)
			o := tc.opts
			o.BrokerURL, o.Registry = broker.URL, reg
			var mu sync.Mutex
			var samples []LoadSample
			o.OnSample = func(s LoadSample) { mu.Lock(); samples = append(samples, s); mu.Unlock() }
			st, err := Load(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if st.Sent < uint64(tc.minMsg) || st.Sent > uint64(tc.maxMsg) || st.Acked != st.Sent || st.Errors != 0 {
				t.Fatalf("stats %+v: want %d..%d sent, all acked", st, tc.minMsg, tc.maxMsg)
			}
			waitFor(t, func() bool { return sub.count() >= int(st.Sent) })
			seen := checkLoadStream(t, sub, int(st.Sent))
			if len(seen) != tc.sensors {
				t.Errorf("%d sensors published, want %d", len(seen), tc.sensors)
			}
			checkSamples(t, samples, seen, o.SampleEvery, int(st.Sent))
		})
	}
}

// loadMsg is what a subscriber saw of one load message.
type loadMsg struct {
	occupied bool
	ts       time.Time
}

// checkLoadStream checks every received message and returns, per sensor,
// its messages by sequence number.
func checkLoadStream(t *testing.T, sub *subscriber, want int) map[string]map[uint64]loadMsg {
	t.Helper()
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.msgs) != want {
		t.Fatalf("subscriber got %d messages, want %d", len(sub.msgs), want)
	}
	seen := map[string]map[uint64]loadMsg{}
	last := map[string]wire{}
	for _, m := range sub.msgs {
		w, ts, ok := decodeValid(m.payload, time.Now())
		if !ok {
			t.Fatalf("invalid payload %s", m.payload)
		}
		id := sensorOf(m.topic)
		if prev, ok := last[id]; ok {
			if w.Seq != prev.Seq+1 || *w.Occupied == *prev.Occupied || *w.TS < *prev.TS {
				t.Fatalf("sensor %s: %s after seq %d occupied %v ts %s: not the next, flipped reading",
					id, m.payload, prev.Seq, *prev.Occupied, *prev.TS)
			}
		} else if w.Seq != 1 || !*w.Occupied {
			t.Fatalf("sensor %s: first message %s, want seq 1 occupied", id, m.payload)
		}
		last[id] = w
		if seen[id] == nil {
			seen[id] = map[uint64]loadMsg{}
		}
		seen[id][w.Seq] = loadMsg{*w.Occupied, ts}
	}
	return seen
}

// checkSamples checks that every n-th message was sampled as it was sent.
func checkSamples(t *testing.T, samples []LoadSample, seen map[string]map[uint64]loadMsg, every, sent int) {
	t.Helper()
	if every == 0 {
		if len(samples) != 0 {
			t.Errorf("%d samples without SampleEvery", len(samples))
		}
		return
	}
	if lo, hi := sent/every-4, sent/every+4; len(samples) < lo || len(samples) > hi {
		t.Errorf("%d samples of %d messages, want about one in %d", len(samples), sent, every)
	}
	for _, s := range samples {
		m, ok := seen[s.SensorID][s.Seq]
		if !ok || m.occupied != s.Occupied || !m.ts.Equal(s.TS) {
			t.Errorf("sample %+v does not match the message sent (%+v, found %v)", s, m, ok)
		}
		if s.TS.UnixMilli() != s.Published.UnixMilli() {
			t.Errorf("sample %+v: sensor time is not the publish time", s)
		}
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLoadStateContinuesSensors runs two loads sharing a LoadState: the
// second one's messages continue each sensor's sequence and still flip it.
func TestLoadStateContinuesSensors(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	reg := testRegistry(t, 2)
	sub := subscribe(t, broker.URL)
	state := &LoadState{}
	total := 0
	for _, n := range []uint64{5, 37} { // the first run leaves sensors in both states
		st, err := Load(context.Background(), LoadOptions{BrokerURL: broker.URL, Registry: reg, Rate: -1, Count: n, State: state})
		if err != nil || st.Acked != n {
			t.Fatalf("load %d: %+v %v", n, st, err)
		}
		total += int(n)
	}
	waitFor(t, func() bool { return sub.count() >= total })
	checkLoadStream(t, sub, total) // one stream: seq +1 and a flip at every message
}

// TestLoadNeedsBrokerAndRegistry checks the required options.
func TestLoadNeedsBrokerAndRegistry(t *testing.T) {
	if _, err := Load(context.Background(), LoadOptions{Registry: testRegistry(t, 1)}); err == nil {
		t.Error("Load without BrokerURL succeeded")
	}
	if _, err := Load(context.Background(), LoadOptions{BrokerURL: "tcp://127.0.0.1:1"}); err == nil {
		t.Error("Load without Registry succeeded")
	}
}
