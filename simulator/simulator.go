// Package simulator stands in for the sensor hardware: one simulated sensor
// per registry space publishes its readings over MQTT, following a daily
// demand curve per zone, with heartbeats and faults on request. A sensor
// speaks the native format, or, for a space of a LoRaWAN model and Format
// ttn or chirpstack, its model's radio frames in that network server's
// envelope; every payload is built by package ingest/codec, the one that
// reads them in parkd. It keeps the ground truth (each space's newest
// reading sent) and Verify compares that truth with the service's HTTP API.
// Load publishes at a fixed rate for benchmarks.
package simulator

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Options configure a Simulator.
type Options struct {
	// BrokerURL is the MQTT broker, e.g. tcp://127.0.0.1:1883. Required.
	BrokerURL string
	// Username and Password authenticate to the broker. Default: none.
	Username, Password string
	// ClientID prefixes the MQTT client ids; a random part and the
	// connection number follow. Default "parksim".
	ClientID string
	// Registry lists the spaces to simulate, one sensor each. Required.
	Registry *occupancy.Registry
	// Accel is how many virtual seconds of the demand model pass per wall
	// second. Default 60.
	Accel float64
	// Start is the virtual time at which the demand model starts: it places
	// the run on the daily and weekly curves. Default: Now().
	Start time.Time
	// Location is the time zone whose hours the demand curves follow.
	// Default: China Standard Time (UTC+8), Qiuai's.
	Location *time.Location
	// Heartbeat is the wall-clock period of each sensor's heartbeat, spread
	// evenly over the sensors, with ±5% jitter. Default 10m.
	Heartbeat time.Duration
	// StartupSpread is the wall time over which every sensor sends its first
	// message. Default: 2s, or longer if MaxRate needs it (2 * sensors /
	// MaxRate), so that half the rate is left for the rest.
	StartupSpread time.Duration
	// Duration is how long Run publishes; 0 means until its context ends.
	Duration time.Duration
	// MaxRate caps the messages published per second, faults included.
	// Default 2000.
	MaxRate float64
	// Publishers is the number of MQTT connections to publish over; a sensor
	// always uses the same one, so its messages stay in order. Default 2.
	Publishers int
	// MaxInflight bounds the messages per connection awaiting their PUBACK.
	// Default 500.
	MaxInflight int
	// DrainTimeout is how long Run waits, once publishing stops, for the
	// PUBACKs of messages in flight. Default 30s.
	DrainTimeout time.Duration
	// Format is the wire format: FormatNative, or FormatTTN / FormatChirpStack
	// for the registry's LoRaWAN spaces (native spaces always send the
	// native JSON). Default FormatNative.
	Format Format
	// Faults are injected on request. Default: none.
	Faults Faults
	// Seed makes a run repeatable: the same seed and options give the same
	// sequence of readings and faults. Default 0 (a fixed seed).
	Seed int64
	// Now is the wall clock that stamps the sensor time of each message.
	// Default time.Now.
	Now func() time.Time
	// Logger receives connection events and warnings. Default: discard.
	Logger *slog.Logger
	// Progress, if set, receives a one-line summary (rate, sent, errors,
	// occupancy) every ProgressInterval, each line ending in "\n".
	Progress io.Writer
	// ProgressInterval is the period of the progress line. Default 1s.
	ProgressInterval time.Duration
}

// ensureDefaults fills in every default of o. It is the one place they live.
func (o *Options) ensureDefaults() {
	if o.ClientID == "" {
		o.ClientID = "parksim"
	}
	if o.Accel == 0 {
		o.Accel = 60
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Start.IsZero() {
		o.Start = o.Now()
	}
	if o.Location == nil {
		o.Location = chinaStandardTime
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 10 * time.Minute
	}
	if o.MaxRate == 0 {
		o.MaxRate = 2000
	}
	if o.Publishers == 0 {
		o.Publishers = 2
	}
	if o.MaxInflight == 0 {
		o.MaxInflight = 500
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Format == "" {
		o.Format = FormatNative
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = time.Second
	}
	if o.StartupSpread == 0 && o.Registry != nil {
		need := time.Duration(2 * float64(len(o.Registry.Spaces())) / o.MaxRate * float64(time.Second))
		o.StartupSpread = max(2*time.Second, need)
	}
}

// validate checks o after defaults are set.
func (o *Options) validate() error {
	switch {
	case o.Registry == nil:
		return errors.New("simulator: Registry is required")
	case o.BrokerURL == "":
		return errors.New("simulator: BrokerURL is required")
	case !(o.Accel > 0):
		return fmt.Errorf("simulator: Accel %v must be above 0", o.Accel)
	case o.Heartbeat < 0 || o.Duration < 0 || o.StartupSpread < 0:
		return errors.New("simulator: Heartbeat, Duration and StartupSpread must not be negative")
	case !(o.MaxRate > 0):
		return fmt.Errorf("simulator: MaxRate %v must be above 0", o.MaxRate)
	case o.Publishers < 1 || o.MaxInflight < 1:
		return errors.New("simulator: Publishers and MaxInflight must be at least 1")
	}
	if _, err := ParseFormat(string(o.Format)); err != nil {
		return err
	}
	return o.Faults.validate()
}

// Simulator simulates one sensor per registry space. Create it with New and
// call Run once; Stats and Truth may be called at any time, from any
// goroutine.
type Simulator struct {
	opts    Options
	log     *slog.Logger
	sensors []sensor
	events  eventHeap
	rng     *rand.Rand // demand model
	faults  *injector
	silent  int
	out     sink // where payloads go: the MQTT publisher, or a test's recorder
	count   counters
	pubs    pubCounters

	mu       sync.Mutex // guards each sensor's truth and the two counts below
	known    int        // sensors whose truth is Sent
	occupied int        // sensors whose truth is Sent and Occupied

	runMu sync.Mutex // held by Run; a Simulator runs once
	ran   bool
}

// New checks opts and lays out the sensors and their first events. It does
// not connect: Run does.
func New(opts Options) (*Simulator, error) {
	opts.ensureDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Simulator{
		opts:   opts,
		log:    opts.Logger.With("component", "simulator"),
		rng:    rand.New(rand.NewPCG(uint64(opts.Seed), 1)),
		faults: newInjector(opts.Faults, rand.New(rand.NewPCG(uint64(opts.Seed), 2))),
	}
	s.layout(rand.New(rand.NewPCG(uint64(opts.Seed), 0)))
	s.warnFormat()
	return s, nil
}
