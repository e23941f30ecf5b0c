package ingest

import (
	"context"
	"errors"
	"fmt"
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

// Subscriber receives sensor messages over MQTT at QoS 1 in a persistent
// session and hands them to a bounded pool of workers that run the
// Pipeline. A message is acknowledged only once it is handled for good,
// i.e. once its reading or its dead letter is in the store.
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
	stalled    atomic.Bool  // the queue had no room for StallAfter and no worker has finished a message since
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
	opts.ensureDefaults()
	pipe, err := NewPipeline(PipelineOptions{
		Store: opts.Store, Registerer: opts.Registerer, Logger: opts.Logger, Now: opts.Now,
		RetryMin: opts.RetryMin, RetryMax: opts.RetryMax, MaxReadingAge: opts.MaxReadingAge,
	})
	if err != nil {
		return nil, err
	}
	log := opts.Logger.With("component", "ingest", "client_id", opts.ClientID)
	s := &Subscriber{
		opts: opts, log: log, pipe: pipe, routes: routesOf(opts),
		queue: make(chan mqtt.Message, opts.QueueSize), stop: make(chan struct{}),
		connLog:  newRateLog(log, slog.LevelWarn, 5*time.Second, opts.Now),
		stallLog: newRateLog(log, slog.LevelWarn, 5*time.Second, opts.Now),
	}
	s.client = mqtt.NewClient(s.clientOptions())
	if err := s.registerConnected(opts.Registerer); err != nil {
		return nil, err
	}
	return s, nil
}

// routesOf returns the routes of o: the native one first, then Routes.
func routesOf(o Options) []route {
	rs := []route{{topic: o.Topic, decode: codec.DecodeNative}}
	for _, r := range o.Routes {
		rs = append(rs, route{topic: r.Topic, decode: r.Decode})
	}
	return rs
}

// registerConnected registers parkd_mqtt_connected. It is read from the
// client at scrape time, so it cannot go stale when paho's connect and
// connection-lost callbacks run out of order. The client id label tells
// the subscribers of one process apart.
func (s *Subscriber) registerConnected(reg prometheus.Registerer) error {
	_, err := register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "parkd_mqtt_connected",
		Help:        "1 while the ingest is connected to the MQTT broker, else 0.",
		ConstLabels: prometheus.Labels{"client_id": s.opts.ClientID},
	}, func() float64 {
		if s.client.IsConnectionOpen() {
			return 1
		}
		return 0
	}))
	return err
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
