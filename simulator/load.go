package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/qiuai/parking/occupancy"
)

// LoadOptions configure a fixed-rate load run (Load).
type LoadOptions struct {
	// BrokerURL is the MQTT broker, e.g. tcp://127.0.0.1:1883. Required.
	BrokerURL string
	// Username and Password authenticate to the broker. Default: none.
	Username, Password string
	// ClientID prefixes the MQTT client ids. Default "parksim-load".
	ClientID string
	// Registry lists the sensors. Required.
	Registry *occupancy.Registry
	// Sensors is how many of the registry's sensors take turns (the first
	// ones, in registry order). Default: all of them.
	Sensors int
	// Rate is the target of messages per second over all connections. A
	// negative rate publishes as fast as the broker acknowledges (bounded
	// only by MaxInflight). Default 1000.
	Rate float64
	// Duration is how long Load publishes; 0 means until Count messages or
	// until ctx ends.
	Duration time.Duration
	// Count stops publishing after this many messages; 0 means no limit.
	Count uint64
	// Connections is the number of MQTT connections; a sensor always uses
	// the same one, so its messages stay in order. Default 4.
	Connections int
	// MaxInflight bounds the messages per connection awaiting their PUBACK.
	// Default 500.
	MaxInflight int
	// SampleEvery hands every n-th message to OnSample; 0 samples none.
	SampleEvery int
	// OnSample receives the sampled messages, from the publishing
	// goroutines, right after each is handed to the MQTT client: it must not
	// block for long.
	OnSample func(LoadSample)
	// DrainTimeout is how long Load waits, once publishing stops, for the
	// PUBACKs of messages in flight. Default 30s.
	DrainTimeout time.Duration
	// Now is the clock stamping each message's sensor time and publish
	// time. Default time.Now.
	Now func() time.Time
	// Logger receives connection events and warnings. Default: discard.
	Logger *slog.Logger
	// Progress, if set, receives a one-line summary every ProgressInterval.
	Progress io.Writer
	// ProgressInterval is the period of the progress line. Default 1s.
	ProgressInterval time.Duration
	// TopicPrefix replaces TopicPrefix in the messages' topics, e.g. to
	// publish the same messages where a running service does not listen.
	// Default TopicPrefix.
	TopicPrefix string
	// State, if set, carries each sensor's occupancy and sequence number
	// from one Load to the next, so that a later run's messages still flip
	// their spaces. Default: every sensor starts unoccupied at sequence 0.
	State *LoadState
}

// LoadState is what Load remembers of each sensor between runs (see
// LoadOptions.State). The zero value is ready to use. Loads sharing a
// LoadState must not run at the same time.
type LoadState struct {
	last map[string]loadSensor // by sensor id
}

// ensureDefaults fills in every default of o. It is the one place they live.
func (o *LoadOptions) ensureDefaults() {
	if o.ClientID == "" {
		o.ClientID = "parksim-load"
	}
	if o.Registry != nil && (o.Sensors <= 0 || o.Sensors > len(o.Registry.Spaces())) {
		o.Sensors = len(o.Registry.Spaces())
	}
	if o.Rate == 0 {
		o.Rate = 1000
	}
	if o.Connections <= 0 {
		o.Connections = 4
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = 500
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = time.Second
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = TopicPrefix
	}
}

// LoadSample is one sampled message of a load run: what was published and
// when, so that the time until the service shows it can be measured.
type LoadSample struct {
	SpaceID, SensorID string
	Occupied          bool      // the occupancy the message carries
	TS                time.Time // its sensor time (millisecond precision)
	Seq               uint64
	Published         time.Time // when it was handed to the MQTT client
}

// LoadStats is what a load run did.
type LoadStats struct {
	Sent    uint64        // messages handed to the MQTT client
	Acked   uint64        // messages the broker acknowledged
	Errors  uint64        // messages whose publish failed or was never acknowledged
	Elapsed time.Duration // from the first publish until publishing stopped
	Drained time.Duration // from the first publish until every PUBACK was in
}

// loadSensor is one sensor's state, owned by its connection's goroutine.
type loadSensor struct {
	space    occupancy.Space
	topic    string
	occupied bool
	seq      uint64
}

// loadRun is one running Load.
type loadRun struct {
	o       LoadOptions
	pub     *publisher
	count   pubCounters
	limiter *rate.Limiter // nil: no limit
	n       atomic.Uint64 // messages claimed so far
	start   time.Time
}

// errNoSensors is returned for an empty registry.
var errNoSensors = errors.New("simulator: load: the registry has no sensors")

// Load publishes native-format readings at QoS 1 at a fixed rate: the
// sensors take turns, each message toggles its sensor's occupancy with the
// current time as sensor time and the next sequence number, so every message
// is a newer reading that changes the space. It returns when Duration has
// passed, Count messages were sent or ctx ends, after waiting for the PUBACKs
// still in flight.
func Load(ctx context.Context, o LoadOptions) (LoadStats, error) {
	if o.BrokerURL == "" || o.Registry == nil {
		return LoadStats{}, errors.New("simulator: load: BrokerURL and Registry are required")
	}
	o.ensureDefaults()
	if o.Sensors == 0 {
		return LoadStats{}, errNoSensors
	}
	r := &loadRun{o: o}
	if o.Rate > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(o.Rate), max(1, int(o.Rate/100)))
	}
	var err error
	// The publisher's own limiter is left wide open: Load paces the
	// messages itself, so that the publish time it records is after the wait.
	r.pub, err = dialPublisher(ctx, publisherOptions{BrokerURL: o.BrokerURL, Username: o.Username,
		Password: o.Password, ClientID: o.ClientID, Connections: o.Connections, MaxRate: 1e9,
		MaxInflight: o.MaxInflight, Logger: o.Logger}, &r.count)
	if err != nil {
		return LoadStats{}, err
	}
	return r.run(ctx), nil
}

// run publishes until the end, drains and returns the stats.
func (r *loadRun) run(ctx context.Context) LoadStats {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.o.Duration > 0 {
		pctx, cancel = context.WithTimeout(pctx, r.o.Duration)
		defer cancel()
	}
	r.start = r.o.Now()
	stopProgress := r.progress()
	var wg sync.WaitGroup
	conns := r.sensorsByConn()
	for c, sensors := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.publishLoop(pctx, c, sensors)
		}()
	}
	wg.Wait()
	r.saveState(conns)
	elapsed := r.o.Now().Sub(r.start)
	dctx, dcancel := context.WithTimeout(context.Background(), r.o.DrainTimeout)
	defer dcancel()
	r.pub.drain(dctx)
	stopProgress()
	return LoadStats{Sent: r.count.sent.Load(), Acked: r.count.acked.Load(), Errors: r.count.errors.Load(),
		Elapsed: elapsed, Drained: r.o.Now().Sub(r.start)}
}

// sensorsByConn deals the sensors out to the connections, each with its
// state from the previous run if there is one.
func (r *loadRun) sensorsByConn() [][]loadSensor {
	out := make([][]loadSensor, r.o.Connections)
	for i, sp := range r.o.Registry.Spaces()[:r.o.Sensors] {
		c := i % r.o.Connections
		sn := loadSensor{space: sp, topic: r.o.TopicPrefix + sp.SensorID + TopicSuffix}
		if st := r.o.State; st != nil {
			if prev, ok := st.last[sp.SensorID]; ok {
				sn.occupied, sn.seq = prev.occupied, prev.seq
			}
		}
		out[c] = append(out[c], sn)
	}
	return out
}

// saveState records each sensor's last message in State.
func (r *loadRun) saveState(conns [][]loadSensor) {
	st := r.o.State
	if st == nil {
		return
	}
	if st.last == nil {
		st.last = map[string]loadSensor{}
	}
	for _, sensors := range conns {
		for _, sn := range sensors {
			st.last[sn.space.SensorID] = sn
		}
	}
}

// publishLoop publishes the messages of one connection's sensors, in turn,
// until ctx ends or Count is reached.
func (r *loadRun) publishLoop(ctx context.Context, conn int, sensors []loadSensor) {
	if len(sensors) == 0 {
		return
	}
	for i := 0; ctx.Err() == nil; i = (i + 1) % len(sensors) {
		n := r.n.Add(1)
		if r.o.Count > 0 && n > r.o.Count {
			return
		}
		if r.limiter != nil && r.limiter.Wait(ctx) != nil {
			return
		}
		sn := &sensors[i]
		sn.occupied, sn.seq = !sn.occupied, sn.seq+1
		now := r.o.Now()
		m := message{occupied: sn.occupied, ts: now.UnixMilli(), seq: sn.seq,
			kind: occupancy.ReadingStatus, batteryMV: 3600, tempDeci: 215}
		if r.pub.publish(ctx, conn, sn.topic, encode(&m)) != nil {
			sn.occupied, sn.seq = !sn.occupied, sn.seq-1 // not sent
			return
		}
		if r.o.SampleEvery > 0 && r.o.OnSample != nil && n%uint64(r.o.SampleEvery) == 0 {
			r.o.OnSample(LoadSample{SpaceID: sn.space.ID, SensorID: sn.space.SensorID,
				Occupied: m.occupied, TS: m.time(), Seq: m.seq, Published: now})
		}
	}
}

// progress writes a progress line every ProgressInterval until the returned
// function is called.
func (r *loadRun) progress() (stop func()) {
	if r.o.Progress == nil {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(r.o.ProgressInterval)
		defer t.Stop()
		var last uint64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			sent := r.count.sent.Load()
			fmt.Fprintf(r.o.Progress, "load: %5.1fs sent %d (%.0f msg/s) acked %d errors %d\n",
				r.o.Now().Sub(r.start).Seconds(), sent,
				float64(sent-last)/r.o.ProgressInterval.Seconds(), r.count.acked.Load(), r.count.errors.Load())
			last = sent
		}
	}()
	return func() { close(done); <-exited }
}
