package simulator

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/time/rate"

	"github.com/qiuai/parking/internal/retry"
)

// sink is where the simulator hands each payload; conn chooses the
// connection, so that one sensor's messages stay in order.
type sink interface {
	publish(ctx context.Context, conn int, topic string, payload []byte) error
}

// publisherOptions configure a publisher.
type publisherOptions struct {
	BrokerURL          string
	Username, Password string
	ClientID           string  // prefix; a random suffix and the connection number follow
	Connections        int     // at least 1
	MaxRate            float64 // messages per second over all connections
	MaxInflight        int     // unacknowledged messages per connection
	Logger             *slog.Logger
	// RetryMin and RetryMax bound the wait between two attempts to publish
	// a message whose publish failed: RetryMin doubling up to RetryMax,
	// each wait ±50% at random. Defaults 50ms and 1s.
	RetryMin, RetryMax time.Duration
}

// pubCounters count what a publisher did. They are safe for concurrent use.
type pubCounters struct {
	sent, acked, errors, retries atomic.Uint64
}

// pending is a published message awaiting its outcome: the token, and what
// to publish again if it fails.
type pending struct {
	tok     mqtt.Token
	topic   string
	payload []byte
}

// publisher publishes QoS 1 messages over a few MQTT connections, within a
// rate limit and with a bounded number of messages awaiting their PUBACK.
// It is the core shared by every way of driving the simulator.
//
// A message whose publish fails (a write on a connection the broker just
// closed, say) is published again on the same connection, before the
// watcher looks at any later message of that connection, until it is
// acknowledged or the run gives up (abort): failed messages are retried in
// the order they were published, and as a sensor always uses the same
// connection, in each sensor's order. A retried copy may reach the broker
// after newer messages that were already in flight, and twice if the first
// attempt got through after all: both are harmless to a service that keeps
// each sensor's newest reading, and nothing is lost.
type publisher struct {
	log      *slog.Logger
	retryMin time.Duration // publisherOptions.RetryMin
	retryMax time.Duration
	clients  []mqtt.Client
	stores   []mqtt.Store   // per connection: paho keeps each QoS 1 message here until its PUBACK
	queues   []chan pending // per connection, FIFO; its capacity bounds in-flight messages
	limiter  *rate.Limiter
	abort    chan struct{}
	wg       sync.WaitGroup
	count    *pubCounters
	lastErr  atomic.Int64 // Unix nanoseconds of the last logged publish error
}

// dialPublisher connects every connection and starts their ack watchers.
func dialPublisher(ctx context.Context, o publisherOptions, count *pubCounters) (*publisher, error) {
	burst := max(1, int(o.MaxRate/10))
	p := &publisher{log: o.Logger, limiter: rate.NewLimiter(rate.Limit(o.MaxRate), burst),
		abort: make(chan struct{}), count: count, retryMin: cmp.Or(o.RetryMin, 50*time.Millisecond)}
	p.retryMax = max(p.retryMin, cmp.Or(o.RetryMax, time.Second))
	suffix := randomHex(4)
	for i := range o.Connections {
		store := mqtt.NewOrderedMemoryStore()
		c, err := connect(ctx, o, fmt.Sprintf("%s-%s-%d", o.ClientID, suffix, i), store)
		if err != nil {
			p.disconnect()
			return nil, err
		}
		p.clients = append(p.clients, c)
		p.stores = append(p.stores, store)
		q := make(chan pending, o.MaxInflight)
		p.queues = append(p.queues, q)
		p.wg.Add(1)
		go p.watch(c, q)
	}
	return p, nil
}

// connect opens one MQTT connection that keeps its unacknowledged messages
// in store. It reconnects on its own afterwards and resends, in order,
// whatever was not acknowledged.
func connect(ctx context.Context, o publisherOptions, id string, store mqtt.Store) (mqtt.Client, error) {
	log := o.Logger
	co := mqtt.NewClientOptions().AddBroker(o.BrokerURL).SetClientID(id).
		SetUsername(o.Username).SetPassword(o.Password).
		SetCleanSession(true).SetAutoReconnect(true).SetMaxReconnectInterval(5 * time.Second).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second).
		SetWriteTimeout(30 * time.Second).SetStore(store).
		SetMaxResumePubInFlight(o.MaxInflight).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("connection to broker lost; reconnecting", "client_id", id, "err", err)
		}).
		SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
			log.Info("reconnecting to broker", "client_id", id)
		})
	c := mqtt.NewClient(co)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return nil, fmt.Errorf("simulator: connect to %s: %w", o.BrokerURL, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("simulator: connect to %s: %w", o.BrokerURL, err)
	}
	return c, nil
}

// publish waits for the rate limiter, publishes payload at QoS 1 on
// connection conn and queues its token for the watcher. It blocks while the
// connection has MaxInflight messages awaiting their PUBACK. An error means
// the message was not handed to the client (ctx ended).
func (p *publisher) publish(ctx context.Context, conn int, topic string, payload []byte) error {
	if err := p.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("simulator: publish: %w", err)
	}
	tok, ok := publishUntil(p.clients[conn], topic, payload, ctx.Done(), handOffGrace)
	p.count.sent.Add(1)
	if !ok {
		p.count.errors.Add(1) // handed to the client, but its outcome will never be known
		return nil
	}
	m := pending{tok: tok, topic: topic, payload: payload}
	select {
	case p.queues[conn] <- m:
		return nil
	case <-ctx.Done():
	}
	// The run stopped, maybe while the queue was full: the watcher makes
	// room as soon as the oldest message is acknowledged, and drain awaits
	// what is queued.
	t := time.NewTimer(handOffGrace)
	defer t.Stop()
	select {
	case p.queues[conn] <- m:
		return nil
	case <-t.C:
		p.count.errors.Add(1) // published, but its outcome will never be known
		return nil
	}
}

// handOffGrace is how long, once the run stops, a publish that paho has not
// yet taken, or a published message that waits for room in its watcher's
// queue, is still waited for, so that a message on its way at the end is
// awaited like the others instead of counted as an error. Both take
// microseconds to milliseconds unless the connection is being torn down.
const handOffGrace = time.Second

// watch waits for each message of one connection in turn, publishes it
// again until acknowledged if it failed, and counts its outcome.
func (p *publisher) watch(c mqtt.Client, q <-chan pending) {
	defer p.wg.Done()
	for m := range q {
		if p.await(c, m) {
			p.count.acked.Add(1)
		} else {
			p.count.errors.Add(1)
		}
	}
}

// await waits for m's outcome and, while it is a failure, publishes m again
// on c, with exponential backoff between attempts (RetryMin doubling up to
// RetryMax, ±50%). It reports whether m was acknowledged; false means the
// run gave up on it (abort).
func (p *publisher) await(c mqtt.Client, m pending) bool {
	var bo *backoff.ExponentialBackOff
	for {
		if !done(m.tok) {
			select {
			case <-m.tok.Done():
			case <-p.abort:
				return false
			}
		}
		err := m.tok.Error()
		if err == nil {
			return true
		}
		p.logError(err)
		if bo == nil {
			bo = retry.Backoff(p.retryMin, p.retryMax)
		}
		if !retry.Wait(p.abort, bo.NextBackOff()) {
			return false
		}
		p.count.retries.Add(1)
		tok, ok := publishUntil(c, m.topic, m.payload, p.abort, 0)
		if !ok {
			return false
		}
		m.tok = tok
	}
}

// publishUntil publishes payload at QoS 1 on c. paho's Publish can block
// for up to its write timeout (30 s) while a lost connection is being torn
// down, so it runs apart and the caller stops waiting grace after stop is
// closed; ok is false then (the message may still go out).
func publishUntil(c mqtt.Client, topic string, payload []byte, stop <-chan struct{}, grace time.Duration) (tok mqtt.Token, ok bool) {
	ch := make(chan mqtt.Token, 1)
	go func() { ch <- c.Publish(topic, 1, false, payload) }()
	select {
	case tok = <-ch:
		return tok, true
	case <-stop:
	}
	if grace <= 0 {
		return nil, false
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case tok = <-ch:
		return tok, true
	case <-t.C:
		return nil, false
	}
}

// done reports whether tok is complete, without blocking.
func done(tok mqtt.Token) bool {
	select {
	case <-tok.Done():
		return true
	default:
		return false
	}
}

// logError logs a publish error at most once a second.
func (p *publisher) logError(err error) {
	now := time.Now().UnixNano()
	if last := p.lastErr.Load(); now-last > int64(time.Second) && p.lastErr.CompareAndSwap(last, now) {
		p.log.Warn("publish failed", "err", err)
	}
}

// drain waits until every published message is acknowledged or ctx ends,
// counts those still unacknowledged as errors, and disconnects. It must not
// run concurrently with publish.
//
// A token that succeeded does not always mean a PUBACK: when paho resends
// its stored messages after a reconnect, it completes their first tokens as
// it queues them again. So drain also waits until each connection's store
// holds no outgoing message, i.e. every PUBACK is in, before it
// disconnects; what is still there when ctx ends counts as errors instead
// of acknowledged.
func (p *publisher) drain(ctx context.Context) {
	for _, q := range p.queues {
		close(q)
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		if n := p.awaitStores(ctx); n > 0 {
			p.log.Warn("gave up waiting for PUBACKs of resent messages", "unacknowledged", n)
			p.count.acked.Add(-uint64(n))
			p.count.errors.Add(uint64(n))
		}
	case <-ctx.Done():
		p.log.Warn("gave up waiting for PUBACKs")
		close(p.abort)
		<-done // every message not acknowledged by now is counted as an error
	}
	p.disconnect()
}

// awaitStores polls the connections' stores until no outgoing message is
// left in them or ctx ends, and returns how many are left.
func (p *publisher) awaitStores(ctx context.Context) int {
	for {
		n := 0
		for _, st := range p.stores {
			n += outgoing(st)
		}
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// outgoing counts the messages in a paho store that await their PUBACK
// (paho names them "o.<message id>").
func outgoing(st mqtt.Store) int {
	n := 0
	for _, k := range st.All() {
		if strings.HasPrefix(k, "o.") {
			n++
		}
	}
	return n
}

// disconnect closes every connection.
func (p *publisher) disconnect() {
	for _, c := range p.clients {
		c.Disconnect(250)
	}
}

// randomHex returns n random bytes in hex, to tell apart the client ids of
// simulators that share a prefix.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
