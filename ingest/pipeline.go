package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// HandlerFunc handles one MQTT message. A nil error means the message is
// dealt with for good (applied, or kept as a dead letter) and may be
// acknowledged; an error means it must not be.
type HandlerFunc func(ctx context.Context, topic string, payload []byte) error

// Middleware wraps a HandlerFunc with more behaviour.
type Middleware func(HandlerFunc) HandlerFunc

// Store is what the ingest needs from the occupancy store.
type Store interface {
	// Apply applies a valid reading. It returns ResultApplied, ResultDuplicate,
	// ResultStale or ResultUnknownSensor with a nil error; an error is
	// EINTERNAL (Redis unreachable) and the call is retried. An EINVALID
	// error rejects the message.
	Apply(ctx context.Context, r occupancy.Reading) (occupancy.Result, error)
	// AddDeadLetter keeps a rejected message for inspection. An error is
	// EINTERNAL and the call is retried.
	AddDeadLetter(ctx context.Context, d occupancy.DeadLetter) error
}

// DeadLetterPanic is the DeadLetter.Result of a message whose handling
// panicked.
const DeadLetterPanic = "panic"

// PipelineOptions configure a Pipeline.
type PipelineOptions struct {
	// Store applies readings and keeps dead letters. Required.
	Store Store
	// Registerer receives the metrics. Default: a private registry (the
	// metrics are kept but not exported).
	Registerer prometheus.Registerer
	// Logger receives rate-limited warnings. Default: discard.
	Logger *slog.Logger
	// Now is the clock: receive time of readings and dead letters, and the
	// outage bookkeeping. Default time.Now.
	Now func() time.Time
	// RetryMin is the first delay after a failed store write. Default 50ms.
	RetryMin time.Duration
	// RetryMax caps the delay between retries. Default 5s.
	RetryMax time.Duration
	// AttemptTimeout bounds one attempt to handle a message (its store
	// writes). A Redis that accepts connections but does not answer (hung,
	// frozen, a half-open connection) then counts as down, in the outage
	// metrics and readiness, instead of holding the workers silently; the
	// attempt is retried like any failure. Default 2s.
	AttemptTimeout time.Duration
	// LogEvery is the least time between two log lines about bad messages
	// (or about the store being down); lines in between are counted and the
	// count is reported in the next one. Default 1s.
	LogEvery time.Duration
}

// setDefaults fills in the defaults documented on the fields.
func (o *PipelineOptions) setDefaults() {
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 50 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Second
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 2 * time.Second
	}
	if o.LogEvery <= 0 {
		o.LogEvery = time.Second
	}
}

// Pipeline turns MQTT messages into store writes. Its Handler is the full
// chain Retry(DeadLetter(Recover(Apply))); the parts are exported so they
// can be tested and composed on their own. It is safe for concurrent use.
type Pipeline struct {
	store    Store
	now      func() time.Time
	log      *slog.Logger
	m        *metrics
	health   *storeHealth
	retryMin time.Duration
	retryMax time.Duration
	attempt  time.Duration // AttemptTimeout
	badLog   *rateLog      // rejected messages
	downLog  *rateLog      // store failures
	panicLog *rateLog      // recovered panics
}

// NewPipeline returns a Pipeline. It fails if Store is missing or the
// metrics cannot be registered.
func NewPipeline(o PipelineOptions) (*Pipeline, error) {
	if o.Store == nil {
		return nil, errors.New("ingest: pipeline: Store is required")
	}
	o.setDefaults()
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	log := o.Logger.With("component", "ingest")
	return &Pipeline{
		store: o.Store, now: o.Now, log: log, m: m,
		health:   &storeHealth{now: o.Now, m: m},
		retryMin: o.RetryMin, retryMax: o.RetryMax, attempt: o.AttemptTimeout,
		badLog:   newRateLog(log, slog.LevelWarn, o.LogEvery, o.Now),
		downLog:  newRateLog(log, slog.LevelWarn, o.LogEvery, o.Now),
		panicLog: newRateLog(log, slog.LevelError, o.LogEvery, o.Now),
	}, nil
}

// Handler returns the full handler: Retry(DeadLetter(Recover(Apply))).
func (p *Pipeline) Handler() HandlerFunc {
	return p.Retry(p.DeadLetter(p.Recover(p.Apply)))
}

// HandlerWith is Handler with messages decoded by dec instead of Decode.
func (p *Pipeline) HandlerWith(dec Decoder) HandlerFunc {
	return p.Retry(p.DeadLetter(p.Recover(p.ApplyWith(dec))))
}

// StoreErr returns nil unless the store is in an outage: the last store
// write failed and none has succeeded since. The error says since when.
func (p *Pipeline) StoreErr() error { return p.health.err() }

// Apply is the core handler: it decodes and validates the message and
// applies the reading to the store. Applied, duplicate and stale readings
// are counted here. It returns an EINVALID error for a bad message, an
// unknown-sensor error, or the store's error.
func (p *Pipeline) Apply(ctx context.Context, topic string, payload []byte) error {
	return p.apply(ctx, codec.DecodeNative, topic, payload)
}

// ApplyWith is Apply with messages decoded by dec; nil means Decode.
func (p *Pipeline) ApplyWith(dec Decoder) HandlerFunc {
	if dec == nil {
		dec = codec.DecodeNative
	}
	return func(ctx context.Context, topic string, payload []byte) error {
		return p.apply(ctx, dec, topic, payload)
	}
}

// apply decodes with dec, validates and applies.
func (p *Pipeline) apply(ctx context.Context, dec Decoder, topic string, payload []byte) error {
	r, err := p.prepare(dec, topic, payload)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := p.store.Apply(ctx, r)
	p.m.apply.Observe(time.Since(start).Seconds())
	return p.settle(r, res, err)
}

// prepare decodes the message with dec and validates the reading.
func (p *Pipeline) prepare(dec Decoder, topic string, payload []byte) (occupancy.Reading, error) {
	r, err := dec(topic, payload)
	if err != nil {
		return r, err
	}
	return r, r.Validate(p.now())
}

// settle counts the store's answer to r and turns it into the handler's
// error: nil for applied, duplicate and stale; an unknown-sensor error; or
// the store's error.
func (p *Pipeline) settle(r occupancy.Reading, res occupancy.Result, err error) error {
	if err != nil {
		return fmt.Errorf("ingest: apply reading of sensor %s: %w", r.SensorID, err)
	}
	switch res {
	case occupancy.ResultApplied, occupancy.ResultDuplicate, occupancy.ResultStale:
		p.m.messages[res].Inc()
		return nil
	case occupancy.ResultUnknownSensor:
		return &codec.UnknownSensorError{SensorID: r.SensorID}
	}
	// A store bug: retrying cannot help, so reject it like a panic.
	panic(fmt.Sprintf("ingest: store returned unknown result %q", res))
}
