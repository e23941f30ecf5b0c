package simulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/time/rate"
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
}

// pubCounters count what a publisher did. They are safe for concurrent use.
type pubCounters struct {
	sent, acked, errors atomic.Uint64
}

// publisher publishes QoS 1 messages over a few MQTT connections, within a
// rate limit and with a bounded number of messages awaiting their PUBACK.
// It is the core shared by every way of driving the simulator.
type publisher struct {
	log     *slog.Logger
	clients []mqtt.Client
	queues  []chan mqtt.Token // per connection, FIFO; its capacity bounds in-flight messages
	limiter *rate.Limiter
	abort   chan struct{}
	wg      sync.WaitGroup
	count   *pubCounters
	lastErr atomic.Int64 // Unix nanoseconds of the last logged publish error
}

// dialPublisher connects every connection and starts their ack watchers.
func dialPublisher(ctx context.Context, o publisherOptions, count *pubCounters) (*publisher, error) {
	burst := max(1, int(o.MaxRate/10))
	p := &publisher{log: o.Logger, limiter: rate.NewLimiter(rate.Limit(o.MaxRate), burst),
		abort: make(chan struct{}), count: count}
	suffix := randomHex(4)
	for i := range o.Connections {
		c, err := connect(ctx, o, fmt.Sprintf("%s-%s-%d", o.ClientID, suffix, i))
		if err != nil {
			p.disconnect()
			return nil, err
		}
		p.clients = append(p.clients, c)
		q := make(chan mqtt.Token, o.MaxInflight)
		p.queues = append(p.queues, q)
		p.wg.Add(1)
		go p.watch(q)
	}
	return p, nil
}

// connect opens one MQTT connection. It reconnects on its own afterwards
// and resends, in order, whatever was not acknowledged.
func connect(ctx context.Context, o publisherOptions, id string) (mqtt.Client, error) {
	log := o.Logger
	co := mqtt.NewClientOptions().AddBroker(o.BrokerURL).SetClientID(id).
		SetUsername(o.Username).SetPassword(o.Password).
		SetCleanSession(true).SetAutoReconnect(true).SetMaxReconnectInterval(5 * time.Second).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second).
		SetWriteTimeout(30 * time.Second).SetStore(mqtt.NewOrderedMemoryStore()).
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
	tok := p.clients[conn].Publish(topic, 1, false, payload)
	p.count.sent.Add(1)
	select {
	case p.queues[conn] <- tok:
		return nil
	case <-ctx.Done():
		p.count.errors.Add(1) // published, but its outcome will never be known
		return nil
	}
}

// watch waits for each token of one connection in turn and counts its
// outcome.
func (p *publisher) watch(q <-chan mqtt.Token) {
	defer p.wg.Done()
	for tok := range q {
		select {
		case <-tok.Done():
		case <-p.abort:
			p.count.errors.Add(1)
			continue
		}
		if err := tok.Error(); err != nil {
			p.count.errors.Add(1)
			p.logError(err)
			continue
		}
		p.count.acked.Add(1)
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
func (p *publisher) drain(ctx context.Context) {
	for _, q := range p.queues {
		close(q)
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		p.log.Warn("gave up waiting for PUBACKs")
		close(p.abort)
		<-done
	}
	p.disconnect()
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
