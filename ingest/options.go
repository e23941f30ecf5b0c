package ingest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Subscriber.
type Options struct {
	// BrokerURL is the broker, e.g. tcp://127.0.0.1:1883 or ssl://host:8883.
	// A broker over TCP or TLS is dialled directly, not through a proxy
	// named in the environment, over a buffered connection (package
	// mqttconn). Required.
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
	// their readings go to the store in one round trip and each message is
	// acknowledged once its own reading or dead letter is stored. Batches
	// form only when messages wait in the queue, i.e. under load. 1 handles
	// one message at a time. The workers hold at most Workers × Batch
	// messages. Default 64.
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
	// RetryMin and RetryMax bound the backoff between store retries
	// (PipelineOptions). Defaults 50ms and 5s.
	RetryMin, RetryMax time.Duration
	// MaxReadingAge is PipelineOptions.MaxReadingAge: how far before its
	// receive time a reading's sensor time may be. Default
	// occupancy.DefaultMaxReadingAge (24h).
	MaxReadingAge time.Duration
	// StallAfter is how long paho's router goroutine waits for room in the
	// full queue before the subscriber takes the workers for stuck (the
	// store is down) and stops holding paho back (see onMessage). paho
	// reads the connection, PINGRESP included, on that goroutine, and drops
	// it if a PINGRESP is not read within the ping timeout (ConnectTimeout),
	// so StallAfter must be well below that. Default 1s.
	StallAfter time.Duration
	// ShutdownGrace is how long Run, once its context is done, lets the
	// workers finish (and acknowledge) the messages they hold. Messages not
	// finished by then are left unacknowledged, and the broker delivers
	// them again to the next session. Default 10s.
	ShutdownGrace time.Duration
}

// ensureDefaults fills in the defaults documented on the fields.
func (o *Options) ensureDefaults() {
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	o.Workers = orDefault(o.Workers, 16)
	o.QueueSize = orDefault(o.QueueSize, 1024)
	o.Batch = orDefault(o.Batch, 64)
	setCommonDefaults(&o.Registerer, &o.Logger, &o.Now)
	o.ConnectTimeout = orDefault(o.ConnectTimeout, 10*time.Second)
	o.KeepAlive = orDefault(o.KeepAlive, 30*time.Second)
	o.ReconnectMax = orDefault(o.ReconnectMax, 10*time.Second)
	o.ShutdownGrace = orDefault(o.ShutdownGrace, 10*time.Second)
	o.StallAfter = orDefault(o.StallAfter, time.Second)
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
