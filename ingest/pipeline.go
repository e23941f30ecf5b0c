package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/occupancy"
)

// Store is what the ingest needs from the occupancy store.
type Store interface {
	// ApplyBatch applies rs in their order, in one round trip. results[i]
	// and errs[i] answer rs[i]: ResultApplied, ResultDuplicate, ResultStale
	// or ResultUnknownSensor with a nil error; an EINVALID error rejects the
	// message; any other error is EINTERNAL (Redis unreachable): rs[i] may
	// or may not have been applied, and is retried. It must not keep rs.
	ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error)
	// AddDeadLetter keeps a rejected message for inspection. An error is
	// EINTERNAL and the call is retried.
	AddDeadLetter(ctx context.Context, d occupancy.DeadLetter) error
	// NoteClocks notes readings rejected for their sensor time (an
	// *occupancy.ClockError) as signs of life of their sensors, which then
	// show the clock_skew problem until a reading applies. known[i] is
	// false for a sensor not in the registry. An error is EINTERNAL and the
	// call is retried: running it again must be harmless.
	NoteClocks(ctx context.Context, rs []occupancy.Reading) (known []bool, err error)
}

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
	// MaxReadingAge is how far before its receive time a reading's sensor
	// time may be; an older one, or one more than occupancy.MaxClockSkew
	// ahead, is not applied: it is kept as a dead letter with result
	// clock, and noted as a sign of life (Store.NoteClocks). Default
	// occupancy.DefaultMaxReadingAge (24h).
	MaxReadingAge time.Duration
	// RetryMin is the first delay after a failed store write; each further
	// one doubles, up to RetryMax, and each wait is its delay ±50%. Default
	// 50ms.
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

// ensureDefaults fills in the defaults documented on the fields.
func (o *PipelineOptions) ensureDefaults() {
	setCommonDefaults(&o.Registerer, &o.Logger, &o.Now)
	o.RetryMin = orDefault(o.RetryMin, 50*time.Millisecond)
	o.RetryMax = max(orDefault(o.RetryMax, 5*time.Second), o.RetryMin)
	o.AttemptTimeout = orDefault(o.AttemptTimeout, 2*time.Second)
	o.LogEvery = orDefault(o.LogEvery, time.Second)
	o.MaxReadingAge = orDefault(o.MaxReadingAge, occupancy.DefaultMaxReadingAge)
}

// setCommonDefaults fills in the defaults Options and PipelineOptions
// share: a private registry, a discard logger, time.Now.
func setCommonDefaults(reg *prometheus.Registerer, log **slog.Logger, now *func() time.Time) {
	if *reg == nil {
		*reg = prometheus.NewRegistry()
	}
	if *log == nil {
		*log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if *now == nil {
		*now = time.Now
	}
}

// orDefault returns d when v is not positive.
func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// Message is one MQTT message to handle.
type Message struct {
	Topic   string
	Payload []byte
	// Decode decodes it; nil means codec.DecodeNative.
	Decode Decoder
	// Retained marks a retained message the broker replayed at subscribe
	// (MQTT's retain flag on delivery): an old message, not one the sensor
	// just sent. It is not applied: it is kept as a dead letter with
	// result retained.
	Retained bool
}

// Pipeline turns MQTT messages into store writes: Handle decodes and
// validates a batch of messages, applies their readings in one round trip,
// keeps the rejected ones as dead letters, recovers from panics and retries
// store failures. It is safe for concurrent use.
type Pipeline struct {
	store    Store
	now      func() time.Time
	log      *slog.Logger
	m        *metrics
	health   *storeHealth
	retryMin time.Duration
	retryMax time.Duration
	attempt  time.Duration // AttemptTimeout
	maxAge   time.Duration // MaxReadingAge
	badLog   *rateLog      // rejected messages
	downLog  *rateLog      // store failures
	panicLog *rateLog      // recovered panics
	scratch  sync.Pool     // of *scratch
}

// NewPipeline returns a Pipeline. It fails if Store is missing or the
// metrics cannot be registered.
func NewPipeline(o PipelineOptions) (*Pipeline, error) {
	if o.Store == nil {
		return nil, errors.New("ingest: pipeline: Store is required")
	}
	o.ensureDefaults()
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	log := o.Logger.With("component", "ingest")
	return &Pipeline{
		store: o.Store, now: o.Now, log: log, m: m,
		health:   &storeHealth{now: o.Now, m: m},
		retryMin: o.RetryMin, retryMax: o.RetryMax, attempt: o.AttemptTimeout, maxAge: o.MaxReadingAge,
		badLog:   newRateLog(log, slog.LevelWarn, o.LogEvery, o.Now),
		downLog:  newRateLog(log, slog.LevelWarn, o.LogEvery, o.Now),
		panicLog: newRateLog(log, slog.LevelError, o.LogEvery, o.Now),
	}, nil
}

// StoreErr returns nil unless the store is in an outage: the last store
// write failed and none has succeeded since. The error says since when.
func (p *Pipeline) StoreErr() error { return p.health.err() }

// Handle handles msgs for good, a single message being a batch of one. Per
// message: a valid reading is applied (or found a duplicate or stale) and
// counted; a message rejected for good (invalid, unknown sensor, a wrong
// sensor clock, retained, or one whose handling panicked) is kept as a
// dead letter, counted, logged at a limited rate; a store failure is retried, with the other failures of its
// attempt, with exponential backoff (RetryMin doubling up to RetryMax),
// until it succeeds or ctx ends, each attempt within AttemptTimeout.
//
// The readings of one attempt go to the store in one ApplyBatch call, in
// the order of msgs, so the readings of one sensor arrive in order. done(i)
// is called, on the calling goroutine, as soon as msgs[i] is handled for
// good: its reading applied or its dead letter stored. The caller
// acknowledges it then, and not before. Handle returns nil once every
// message is done; an error when ctx ended first, or when a message could
// not be handled even alone (its dead letter's write panicked): the
// messages not done must then not be acknowledged.
//
// Handle never panics (see attempt). Failed attempts feed StoreErr and the
// outage metrics.
func (p *Pipeline) Handle(ctx context.Context, msgs []Message, done func(i int)) error {
	if len(msgs) == 0 {
		return nil
	}
	sc, _ := p.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer p.scratch.Put(sc)
	defer sc.clear()
	sc.state = grow(sc.state, len(msgs))
	h := &handling{p: p, msgs: msgs, done: done, state: sc.state, scratch: sc}
	return h.retry(ctx)
}

// scratch is the working memory of a Handle call, pooled so that handling
// a message allocates no bookkeeping of its own.
type scratch struct {
	state   []msgState
	pending []int
	outs    []error
	rs      []occupancy.Reading
	at      []int
	clocks  []clockNote
}

// clear lets go of what the scratch's slices point to, keeping their
// memory.
func (sc *scratch) clear() {
	clear(sc.state)
	clear(sc.outs[:cap(sc.outs)])
	clear(sc.rs[:cap(sc.rs)])
	clear(sc.clocks[:cap(sc.clocks)])
}

// grow returns s with length n, its elements zero, reusing its memory if
// it is large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}
