package simulator

import (
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// doneToken is an mqtt.Token that is already complete, with err.
type doneToken struct{ err error }

func (t doneToken) Wait() bool                     { return true }
func (t doneToken) WaitTimeout(time.Duration) bool { return true }
func (t doneToken) Done() <-chan struct{}          { c := make(chan struct{}); close(c); return c }
func (t doneToken) Error() error                   { return t.err }

// flakyClient is an mqtt.Client whose publishes fail while failures
// remain for their payload, and which records every publish in order.
type flakyClient struct {
	mqtt.Client // nil: only Publish is used
	mu          sync.Mutex
	failures    map[string]int // payload -> publishes still to fail
	log         []string       // payloads in the order they were published
}

func (c *flakyClient) Publish(_ string, _ byte, _ bool, payload any) mqtt.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := string(payload.([]byte))
	c.log = append(c.log, p)
	if c.failures[p] > 0 {
		c.failures[p]--
		return doneToken{errors.New("use of closed network connection")}
	}
	return doneToken{}
}

// TestFailedPublishIsRetriedInOrderUntilAcked hands the watcher messages
// whose first publishes failed: each is published again, before any later
// message of its connection is looked at, until it is acknowledged; the
// run's abort ends the retries and counts the message as an error.
func TestFailedPublishIsRetriedInOrderUntilAcked(t *testing.T) {
	tests := []struct {
		name      string
		failures  map[string]int // extra failures after the first publish (which the test makes)
		abort     bool
		wantLog   []string
		wantAcked uint64
		wantErrs  uint64
		wantRetry uint64
	}{
		{"no failure", nil, false, nil, 3, 0, 0},
		{"a failed message is retried before the next is counted", map[string]int{"a": 0}, false,
			[]string{"a"}, 3, 0, 1},
		{"retried until acknowledged", map[string]int{"b": 2}, false, []string{"b", "b", "b"}, 3, 0, 3},
		{"failures are retried in publish order", map[string]int{"a": 1, "c": 0}, false,
			[]string{"a", "a", "c"}, 3, 0, 3},
		{"abort gives up, later acknowledged messages count", map[string]int{"b": 1000}, true, nil, 2, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &flakyClient{failures: tt.failures}
			count := &pubCounters{}
			p := &publisher{log: slog.New(slog.DiscardHandler), abort: make(chan struct{}), count: count,
				retryMin: time.Millisecond, retryMax: 4 * time.Millisecond}
			q := make(chan pending, 3)
			for _, m := range []string{"a", "b", "c"} {
				var tok mqtt.Token = doneToken{}
				if _, ok := tt.failures[m]; ok {
					tok = doneToken{errors.New("use of closed network connection")} // the first attempt
				}
				q <- pending{tok: tok, topic: "t/" + m, payload: []byte(m)}
			}
			close(q)
			if tt.abort {
				time.AfterFunc(300*time.Millisecond, func() { close(p.abort) })
			}
			p.wg.Add(1)
			p.watch(c, q)
			if got := count.acked.Load(); got != tt.wantAcked {
				t.Errorf("acked %d, want %d", got, tt.wantAcked)
			}
			if got := count.errors.Load(); got != tt.wantErrs {
				t.Errorf("errors %d, want %d", got, tt.wantErrs)
			}
			if tt.abort {
				if len(c.log) == 0 || c.log[0] != "b" {
					t.Errorf("publishes %v: want b retried", c.log)
				}
				return
			}
			if got := count.retries.Load(); got != tt.wantRetry {
				t.Errorf("retries %d, want %d", got, tt.wantRetry)
			}
			if !equalStrings(c.log, tt.wantLog) {
				t.Errorf("publishes %v, want %v", c.log, tt.wantLog)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
