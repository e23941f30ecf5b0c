package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/ingest/mqttconn"
)

// Options configure a Subscriber.
type Options struct {
	// BrokerURL is the broker, e.g. tcp://127.0.0.1:1883 or ssl://host:8883.
	// A tcp:// (or mqtt://) broker is dialled directly, not through a proxy
	// named in the environment, and read through a buffer. Required.
	BrokerURL string
	// ClientID identifies the persistent session; it must be stable across
	// restarts and unique per ingest instance. Required.
	ClientID string
	// Username and Password authenticate to the broker. Default: none.
	Username, Password string
	// TLSConfig is used for ssl://, tls://, mqtts:// and wss:// brokers.
	// Default: nil (Go's defaults).
	TLSConfig *tls.Config
	// Topic is the subscription filter of the native format. Default
	// DefaultTopic.
	Topic string
	// Routes are more subscriptions beside Topic, each with its own decoder
	// (LoRaWANRoutes builds those of the network servers). A message goes to
	// the first route whose filter matches its topic, Topic's first. Default:
	// none.
	Routes []Route
	// SkipNative leaves Topic out of the subscription, for a subscriber that
	// reads only a network server's broker (Routes). Default false.
	SkipNative bool
	// SharedGroup, if set, subscribes to $share/SharedGroup/Topic so that
	// several instances share the stream. Default: "" (no sharing).
	SharedGroup string
	// Workers is the number of messages handled at once. Default 16.
	Workers int
	// QueueSize is how many received messages may wait for a worker; when
	// it is full, receiving blocks (back-pressure). Default 1024.
	QueueSize int
	// Batch is the most messages a worker takes at once: it takes one, and
	// then what is already queued, without waiting for more, up to Batch;
	// their readings go to the store in one round trip (when the Store is a
	// BatchStore) and each message is acknowledged once its own reading or
	// dead letter is stored. Batches form only when messages wait in the
	// queue, i.e. under load. 1 handles one message at a time. The workers
	// hold at most Workers × Batch messages. Default 64.
	Batch int
	// BatchWait is how long the worker forming a batch waits for more
	// messages, once it holds one, while it has fewer than Batch: up to
	// BatchWait of latency for fewer, fuller Redis round trips when
	// messages come in steadily but not in a flood. One worker forms a
	// batch at a time, so the messages of a wait go together. 0 never
	// waits. Default 0 (parkd's config sets its own).
	BatchWait time.Duration
	// Store applies readings and keeps dead letters. Required.
	Store Store
	// Registerer receives the metrics. Default: a private registry.
	Registerer prometheus.Registerer
	// Logger receives the log. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// ConnectTimeout bounds one connection attempt and one subscribe.
	// Default 10s.
	ConnectTimeout time.Duration
	// KeepAlive is the MQTT keep-alive interval. Default 30s.
	KeepAlive time.Duration
	// ReconnectMax caps the wait between connection attempts. Default 10s.
	ReconnectMax time.Duration
	// RetryMin and RetryMax bound the backoff between store retries.
	// Defaults 50ms and 5s.
	RetryMin, RetryMax time.Duration
	// ShutdownGrace is how long Run, once its context is done, lets the
	// workers finish (and acknowledge) the messages they hold. Messages not
	// finished by then are left unacknowledged, and the broker delivers
	// them again to the next session. Default 10s.
	ShutdownGrace time.Duration
}

// setDefaults fills in the defaults documented on the fields.
func (o *Options) setDefaults() {
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.ConnectTimeout = orDefault(o.ConnectTimeout, 10*time.Second)
	o.KeepAlive = orDefault(o.KeepAlive, 30*time.Second)
	o.ReconnectMax = orDefault(o.ReconnectMax, 10*time.Second)
	o.ShutdownGrace = orDefault(o.ShutdownGrace, 10*time.Second)
}

// orDefault returns d when v is not positive.
func orDefault(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}

// validate checks the required options.
func (o *Options) validate() error {
	switch {
	case o.BrokerURL == "":
		return errors.New("ingest: BrokerURL is required")
	case o.ClientID == "":
		return errors.New("ingest: ClientID is required: a persistent session needs a stable client id")
	case o.Store == nil:
		return errors.New("ingest: Store is required")
	case o.SkipNative && len(o.Routes) == 0:
		return errors.New("ingest: SkipNative needs at least one route")
	case strings.ContainsAny(o.SharedGroup, "/+#"):
		return fmt.Errorf("ingest: SharedGroup %q must not contain '/', '+' or '#'", o.SharedGroup)
	}
	if _, err := url.Parse(o.BrokerURL); err != nil {
		return fmt.Errorf("ingest: BrokerURL: %w", err)
	}
	seen := map[string]bool{o.Topic: true}
	for _, r := range o.Routes {
		if r.Topic == "" || seen[r.Topic] {
			return fmt.Errorf("ingest: route topic %q is empty or repeated", r.Topic)
		}
		seen[r.Topic] = true
	}
	return nil
}

// filter returns the topic filter to subscribe to for the native format.
func (o *Options) filter() string { return o.share(o.Topic) }

// share returns topic as subscribed to: with the $share prefix if set.
func (o *Options) share(topic string) string {
	if o.SharedGroup != "" {
		return "$share/" + o.SharedGroup + "/" + topic
	}
	return topic
}

// filters returns every filter subscribed to, the native one first.
func (o *Options) filters() []string {
	var out []string
	if !o.SkipNative {
		out = append(out, o.filter())
	}
	for _, r := range o.Routes {
		out = append(out, o.share(r.Topic))
	}
	return out
}

// route is a subscription with its handler and decoder.
type route struct {
	topic  string // the filter without $share
	handle HandlerFunc
	decode Decoder
}

// stallAfter is how long paho's router goroutine waits for room in the full
// queue before the subscriber takes the workers for stuck (the store is
// down) and stops holding paho back: paho reads the connection, PINGRESP
// included, on that goroutine, and drops the connection if a PINGRESP is
// not read within the ping timeout (ConnectTimeout).
const stallAfter = time.Second

// Subscriber receives sensor messages over MQTT at QoS 1 in a persistent
// session and hands them to a bounded pool of workers that run the
// Pipeline's handler. A message is acknowledged only after the handler
// succeeded, i.e. after its reading or its dead letter is in the store.
type Subscriber struct {
	opts       Options
	log        *slog.Logger
	pipe       *Pipeline
	routes     []route // the native route first
	client     mqtt.Client
	queue      chan mqtt.Message
	stop       chan struct{} // closed when Run begins to shut down
	collecting sync.Mutex    // held by the worker forming a batch (collect)
	started    atomic.Bool
	subscribed atomic.Bool  // the current connection's SUBSCRIBE was granted
	stalled    atomic.Bool  // the queue had no room for stallAfter and no worker has finished a message since
	received   atomic.Int64 // messages paho handed to onMessage
	spilled    atomic.Int64 // messages waiting for room in the queue on goroutines of their own
	connLog    *rateLog
	stallLog   *rateLog
}

// New returns a Subscriber; Run connects it.
func New(opts Options) (*Subscriber, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	pipe, err := NewPipeline(PipelineOptions{
		Store: opts.Store, Registerer: opts.Registerer, Logger: opts.Logger, Now: opts.Now,
		RetryMin: opts.RetryMin, RetryMax: opts.RetryMax,
	})
	if err != nil {
		return nil, err
	}
	log := opts.Logger.With("component", "ingest", "client_id", opts.ClientID)
	s := &Subscriber{
		opts: opts, log: log, pipe: pipe, routes: []route{{topic: opts.Topic, handle: pipe.Handler(), decode: codec.DecodeNative}},
		queue: make(chan mqtt.Message, opts.QueueSize), stop: make(chan struct{}),
		connLog:  newRateLog(log, slog.LevelWarn, 5*time.Second, opts.Now),
		stallLog: newRateLog(log, slog.LevelWarn, 5*time.Second, opts.Now),
	}
	for _, r := range opts.Routes {
		s.routes = append(s.routes, route{topic: r.Topic, handle: pipe.HandlerWith(r.Decode), decode: r.Decode})
	}
	s.client = mqtt.NewClient(s.clientOptions())
	// Read from the client at scrape time, so it cannot go stale when
	// paho's connect and connection-lost callbacks run out of order. The
	// client id label tells the subscribers of one process apart.
	if _, err := register(opts.Registerer, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "parkd_mqtt_connected",
		Help:        "1 while the ingest is connected to the MQTT broker, else 0.",
		ConstLabels: prometheus.Labels{"client_id": opts.ClientID},
	}, func() float64 {
		if s.client.IsConnectionOpen() {
			return 1
		}
		return 0
	})); err != nil {
		return nil, err
	}
	return s, nil
}

// clientOptions are the paho settings: a persistent session, handlers
// registered before connecting, the subscription renewed on every connect,
// and what manual acknowledgement needs around paho (mqttconn.Configure:
// manual acks, in-order delivery on paho's router goroutine, which
// onMessage relies on, no paho store, buffered connections).
func (s *Subscriber) clientOptions() *mqtt.ClientOptions {
	o := s.opts
	co := mqtt.NewClientOptions().
		AddBroker(o.BrokerURL).
		SetClientID(o.ClientID).
		SetUsername(o.Username).
		SetPassword(o.Password).
		SetCleanSession(false). // the broker keeps our subscription and queues messages while we are away
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(o.ReconnectMax).
		SetConnectTimeout(o.ConnectTimeout).
		SetKeepAlive(o.KeepAlive).
		SetPingTimeout(o.ConnectTimeout).
		SetDefaultPublishHandler(s.onMessage).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(s.onConnectionLost).
		SetReconnectingHandler(s.onReconnecting)
	if o.TLSConfig != nil {
		co.SetTLSConfig(o.TLSConfig)
	}
	mqttconn.Configure(co, mqttconn.Options{})
	return co
}

// Run connects (retrying until the broker answers), processes messages
// until ctx is done, then shuts down: it stops taking messages, lets the
// workers finish and acknowledge what they hold for up to ShutdownGrace,
// and disconnects. It does not unsubscribe: the persistent session keeps
// collecting messages for the next start. Run may be called once.
func (s *Subscriber) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("ingest: Run called twice")
	}
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Go(func() { s.work(workCtx) })
	}
	s.log.Info("connecting to MQTT broker", "broker", redactURL(s.opts.BrokerURL), "filters", strings.Join(s.opts.filters(), " "),
		"workers", s.opts.Workers, "queue", s.opts.QueueSize, "batch", s.opts.Batch, "batch_wait", s.opts.BatchWait.String())
	tok := s.client.Connect() // with ConnectRetry it completes once connected
	select {
	case <-ctx.Done():
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			close(s.stop)
			cancelWork()
			wg.Wait()
			return fmt.Errorf("ingest: connect to %s: %w", redactURL(s.opts.BrokerURL), err)
		}
		<-ctx.Done()
	}
	s.shutdown(&wg, cancelWork)
	return nil
}

// shutdown stops intake, waits up to ShutdownGrace for the workers, then
// disconnects.
func (s *Subscriber) shutdown(wg *sync.WaitGroup, cancelWork context.CancelFunc) {
	close(s.stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	grace := time.NewTimer(s.opts.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.log.Warn("shutdown grace period over: messages still in work stay unacknowledged and will be redelivered",
			"grace", s.opts.ShutdownGrace.String())
		cancelWork()
		<-done
	}
	s.subscribed.Store(false)
	s.client.Disconnect(mqttconn.Options{}.Quiesce()) // every PUBACK taken before Run returns: mqttconn
	s.log.Info("disconnected from MQTT broker")
}

// work takes messages from the queue until shutdown, one at a time or in
// batches (Batch, BatchWait).
func (s *Subscriber) work(ctx context.Context) {
	batch := make([]mqtt.Message, 0, s.opts.Batch)
	for {
		if batch = s.collect(batch); len(batch) == 0 {
			return // shutdown
		}
		if s.opts.Batch == 1 {
			s.process(ctx, batch[0])
		} else {
			s.processBatch(ctx, batch)
		}
		clear(batch) // let the messages go
		batch = batch[:0]
	}
}

// collect forms the next batch in batch: it waits for one message, takes
// what else is queued up to Batch, then waits up to BatchWait for more
// while the batch is not full. One worker collects at a time (the others
// wait their turn), so a wait gathers the messages that arrive during it
// instead of spreading them over idle workers. It returns an empty batch
// at shutdown; a batch begun before shutdown is returned to be handled.
func (s *Subscriber) collect(batch []mqtt.Message) []mqtt.Message {
	s.collecting.Lock()
	defer s.collecting.Unlock()
	select {
	case <-s.stop:
		return batch
	default:
	}
	select {
	case <-s.stop:
		return batch
	case m := <-s.queue:
		batch = s.take(append(batch, m))
	}
	if s.opts.BatchWait <= 0 || len(batch) == s.opts.Batch {
		return batch
	}
	wait := time.NewTimer(s.opts.BatchWait)
	defer wait.Stop()
	for len(batch) < s.opts.Batch {
		select {
		case m := <-s.queue:
			batch = s.take(append(batch, m))
		case <-wait.C:
			return batch
		case <-s.stop:
			return batch
		}
	}
	return batch
}

// take adds to batch what is queued, without waiting, up to Batch.
func (s *Subscriber) take(batch []mqtt.Message) []mqtt.Message {
	for len(batch) < s.opts.Batch {
		select {
		case m := <-s.queue:
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// processBatch runs the pipeline's HandleBatch on a batch and acknowledges
// each message as soon as it is handled. The messages not handled when it
// returns (shutdown) stay unacknowledged and the broker redelivers them.
func (s *Subscriber) processBatch(ctx context.Context, batch []mqtt.Message) {
	n, acked := len(batch), 0
	s.pipe.m.inflight.Add(float64(n))
	defer func() { s.pipe.m.inflight.Sub(float64(n - acked)) }()
	msgs := make([]Message, n)
	for i, m := range batch {
		msgs[i] = Message{Topic: m.Topic(), Payload: m.Payload(), Decode: s.routeFor(m.Topic()).decode}
	}
	err := s.safeHandleBatch(ctx, msgs, func(i int) {
		batch[i].Ack()
		acked++
		s.pipe.m.inflight.Dec()
	})
	s.progressed()
	if err != nil {
		s.log.Info("messages left unacknowledged for redelivery", "messages", n-acked, "error", err.Error())
	}
}

// safeHandleBatch runs HandleBatch, turning a panic outside the pipeline's
// own recovery (in a dead-letter write, say) into an error.
func (s *Subscriber) safeHandleBatch(ctx context.Context, msgs []Message, done func(int)) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.pipe.m.panics.Inc()
			s.log.Error("panic outside the message handler", "messages", len(msgs), "panic", fmt.Sprint(v))
			err = &PanicError{Value: v}
		}
	}()
	return s.pipe.HandleBatch(ctx, msgs, done)
}

// progressed notes that a worker finished: the workers are not stuck.
func (s *Subscriber) progressed() {
	if s.stalled.Load() {
		s.stalled.Store(false)
	}
}

// process runs the handler on one message and acknowledges it if the
// handler succeeded. A handler error means ctx ended first (shutdown): the
// message stays unacknowledged and the broker redelivers it.
func (s *Subscriber) process(ctx context.Context, m mqtt.Message) {
	s.pipe.m.inflight.Inc()
	defer s.pipe.m.inflight.Dec()
	err := s.safeHandle(ctx, m)
	s.progressed()
	if err != nil {
		s.log.Info("message left unacknowledged for redelivery", "topic", clip(m.Topic(), 200), "error", err.Error())
		return
	}
	m.Ack()
}

// safeHandle runs the handler, turning a panic outside the pipeline's own
// Recover (in the dead-letter write, say) into an error.
func (s *Subscriber) safeHandle(ctx context.Context, m mqtt.Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.pipe.m.panics.Inc()
			s.log.Error("panic outside the message handler", "topic", clip(m.Topic(), 200), "panic", fmt.Sprint(v))
			err = &PanicError{Value: v}
		}
	}()
	return s.routeFor(m.Topic()).handle(ctx, m.Topic(), m.Payload())
}

// routeFor returns the first route matching topic; the native one if none
// does (its decoder rejects a topic it does not know).
func (s *Subscriber) routeFor(topic string) *route {
	for i := range s.routes {
		if matchTopic(s.routes[i].topic, topic) {
			return &s.routes[i]
		}
	}
	return &s.routes[0]
}

// onMessage is paho's handler for every message. With OrderMatters true
// paho calls it on its router goroutine, in the order of arrival, and reads
// nothing more from the connection while it runs. So while the queue is
// full, waiting for room holds paho back and TCP pushes back to the broker,
// which keeps the rest: what parkd holds is bounded by the queue and the
// workers, however fast messages come (the broker's in-flight window does
// not bound it once acknowledgements flow).
//
// Waiting must not last, though: paho reads PINGRESP on the same goroutine
// and drops the connection when one is late. If the queue has no room for
// stallAfter, the workers are stuck (the store is down): the message then
// waits on a goroutine of its own, and so do the next ones until a worker
// finishes a message. While the workers are stuck nothing is acknowledged,
// so the broker's in-flight window (max_inflight_messages) bounds those
// goroutines. During shutdown the message is left unacknowledged.
func (s *Subscriber) onMessage(_ mqtt.Client, m mqtt.Message) {
	s.received.Add(1)
	select {
	case <-s.stop:
		return
	case s.queue <- m:
		return
	default:
	}
	if s.stalled.Load() {
		s.spill(m)
		return
	}
	t := time.NewTimer(stallAfter)
	defer t.Stop()
	select {
	case s.queue <- m:
	case <-s.stop:
	case <-t.C:
		s.stalled.Store(true)
		s.stallLog.Log("workers stuck: the queue has had no room for "+stallAfter.String()+"; holding new messages aside until one finishes",
			"queue", s.opts.QueueSize, "aside", s.spilled.Load())
		s.spill(m)
	}
}

// spill waits for room in the queue on a goroutine of its own.
func (s *Subscriber) spill(m mqtt.Message) {
	s.spilled.Add(1)
	go func() {
		defer s.spilled.Add(-1)
		select {
		case s.queue <- m:
		case <-s.stop:
		}
	}()
}

// onConnect subscribes on every (re)connection. paho runs it on its own
// goroutine.
func (s *Subscriber) onConnect(c mqtt.Client) {
	s.subscribed.Store(false)
	s.log.Info("connected to MQTT broker", "broker", redactURL(s.opts.BrokerURL))
	delay := time.Second
	for {
		err := s.subscribe(c)
		if err == nil {
			s.subscribed.Store(true)
			s.log.Info("subscribed", "filters", strings.Join(s.opts.filters(), " "), "qos", 1)
			return
		}
		s.connLog.Log("subscribe failed, retrying", "filters", strings.Join(s.opts.filters(), " "), "error", err.Error())
		select {
		case <-s.stop:
			return
		case <-time.After(delay):
		}
		if !c.IsConnectionOpen() {
			return // the next onConnect subscribes
		}
		delay = min(2*delay, s.opts.ReconnectMax)
	}
}

// subscribe subscribes to the filters at QoS 1. The nil callback routes
// every message to the default handler, which was registered before
// connecting so that messages queued in the session are not missed.
func (s *Subscriber) subscribe(c mqtt.Client) error {
	subs := map[string]byte{}
	for _, f := range s.opts.filters() {
		subs[f] = 1
	}
	tok := c.SubscribeMultiple(subs, nil)
	if !tok.WaitTimeout(s.opts.ConnectTimeout) {
		return errors.New("no SUBACK within the connect timeout")
	}
	if err := tok.Error(); err != nil {
		return err
	}
	st, ok := tok.(*mqtt.SubscribeToken)
	if !ok {
		return nil
	}
	for topic, code := range st.Result() {
		if code > 2 {
			return fmt.Errorf("broker refused the subscription to %s (code %#x)", topic, code)
		}
	}
	return nil
}

// onConnectionLost records a lost connection; paho reconnects by itself.
func (s *Subscriber) onConnectionLost(_ mqtt.Client, err error) {
	s.connLog.Log("lost connection to MQTT broker; reconnecting", "error", err.Error())
}

// onReconnecting logs reconnection attempts at a limited rate.
func (s *Subscriber) onReconnecting(_ mqtt.Client, _ *mqtt.ClientOptions) {
	s.connLog.Log("reconnecting to MQTT broker", "broker", redactURL(s.opts.BrokerURL))
}

// Connected reports whether the connection to the broker is up.
func (s *Subscriber) Connected() bool { return s.client.IsConnectionOpen() }

// Ready returns nil when the subscriber is connected and subscribed and the
// store is not in an outage, and otherwise an error saying which is not.
// Note that an outage is noticed only through writes: with no traffic, a
// dead store looks ready here (check the store itself as well).
func (s *Subscriber) Ready() error {
	switch {
	case !s.client.IsConnectionOpen():
		return fmt.Errorf("ingest: not connected to the MQTT broker %s", redactURL(s.opts.BrokerURL))
	case !s.subscribed.Load():
		return fmt.Errorf("ingest: not subscribed to %s", strings.Join(s.opts.filters(), " "))
	}
	return s.pipe.StoreErr()
}

// Pipeline returns the pipeline the workers run.
func (s *Subscriber) Pipeline() *Pipeline { return s.pipe }

// redactURL returns u without its password, for logs and errors.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
