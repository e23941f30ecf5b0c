package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/qiuai/parking/simulator"
)

// loadOptions are the options every bench load shares; the loads parkd
// sees continue each other's sensors.
func (b *bench) loadOptions() simulator.LoadOptions {
	return simulator.LoadOptions{BrokerURL: b.mqtt, Registry: b.reg, ClientID: "bench-load",
		Connections: b.f.connections, MaxInflight: 500, Progress: b.prog, ProgressInterval: 2 * time.Second,
		State: &b.state}
}

// benchTopicPrefix is where (a) publishes: topics of the same length and
// shape as parkd's, in a tree parkd (running idle meanwhile) does not
// subscribe to.
const benchTopicPrefix = "benchmk/v1/sensors/"

// measureBroker is one round of (a): the flat-out stream to a plain paho
// subscriber at QoS 1 (it acknowledges each message as it arrives)
// instead of parkd.
func (b *bench) measureBroker(ctx context.Context) (rateRound, error) {
	var got atomic.Uint64
	var last atomic.Int64
	n := b.f.messages
	done := make(chan struct{})
	opts := mqtt.NewClientOptions().AddBroker(b.mqtt).SetClientID("bench-plain-subscriber").
		SetCleanSession(true).SetAutoReconnect(false)
	sub := mqtt.NewClient(opts)
	if tok := sub.Connect(); tok.Wait() && tok.Error() != nil {
		return rateRound{}, fmt.Errorf("plain subscriber: %w", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe(benchTopicPrefix+"+"+simulator.TopicSuffix, 1, func(mqtt.Client, mqtt.Message) {
		last.Store(time.Now().UnixNano())
		if got.Add(1) == n {
			close(done)
		}
	}); tok.Wait() && tok.Error() != nil {
		return rateRound{}, fmt.Errorf("plain subscriber: %w", tok.Error())
	}
	b.progress("bench: (a) %d messages flat out to a plain subscriber", n)
	cpu0 := b.cpuTimes()
	start := time.Now()
	o := b.loadOptions()
	o.Rate, o.Count, o.State, o.TopicPrefix = -1, n, nil, benchTopicPrefix // parkd does not see this stream
	st, err := simulator.Load(ctx, o)
	if err != nil {
		return rateRound{}, err
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return rateRound{}, fmt.Errorf("plain subscriber got %d of %d messages: %w", got.Load(), n, errTimeout)
	}
	took := time.Unix(0, last.Load()).Sub(start)
	return rateRound{rate: float64(n) / took.Seconds(), acked: float64(st.Acked) / st.Drained.Seconds(),
		cpu: b.cpuTimes().since(cpu0)}, nil
}

// measureParkd is one round of (b): the same stream to parkd; its
// processed rate is read from parkd_ingest_messages_total.
func (b *bench) measureParkd(ctx context.Context) (rateRound, error) {
	n := b.f.messages
	base, err := b.parkd.processed()
	if err != nil {
		return rateRound{}, err
	}
	b.progress("bench: (b) %d messages flat out to parkd", n)
	cpu0 := b.cpuTimes()
	start := time.Now()
	o := b.loadOptions()
	o.Rate, o.Count = -1, n
	st, err := simulator.Load(ctx, o)
	if err != nil {
		return rateRound{}, err
	}
	end, err := b.waitProcessed(ctx, base+float64(n), 5*time.Minute)
	if err != nil {
		return rateRound{}, err
	}
	took := end.Sub(start)
	return rateRound{rate: float64(n) / took.Seconds(), acked: float64(st.Acked) / st.Drained.Seconds(),
		cpu: b.cpuTimes().since(cpu0)}, nil
}

// waitProcessed polls parkd's metrics until it has processed want messages
// in total, and returns when it saw that. It polls every 10 ms once the
// end is near (within about a fifth of a second at the rate so far) and
// less often before, up to every 100 ms, so that the measuring costs parkd
// little while it works.
func (b *bench) waitProcessed(ctx context.Context, want float64, timeout time.Duration) (time.Time, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	lastLog := start
	first := -1.0
	for {
		got, err := b.parkd.processed()
		if err != nil {
			return time.Time{}, err
		}
		if got >= want {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("parkd processed %.0f of %.0f messages: %w", got, want, errTimeout)
		}
		if time.Since(lastLog) > 2*time.Second {
			b.progress("bench: waiting for parkd: %.0f messages to go", want-got)
			lastLog = time.Now()
		}
		if first < 0 {
			first = got
		}
		wait := 10 * time.Millisecond
		if rate := (got - first) / time.Since(start).Seconds(); rate > 0 {
			left := time.Duration((want - got) / rate * float64(time.Second))
			wait = min(max(left/20, 10*time.Millisecond), 100*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// visibleTimeout is how long a sampled message may take to show in the API
// before it counts as not visible.
const visibleTimeout = 5 * time.Second

// latencyResult is what one fixed-rate latency run measured.
type latencyResult struct {
	mu       sync.Mutex
	hist     *hdrhistogram.Histogram // microseconds; guarded by mu
	seconds  bySecond                // by the second after the warm-up the sample was published in; guarded by mu
	slow     slowSplit               // guarded by mu
	start    time.Time               // the end of the warm-up
	timedOut atomic.Uint64
	sent     uint64
}

// record adds the latency d of a sample published at pub. before is the
// part of d until parkd's store call (its last_seen), or -1 if unknown.
func (r *latencyResult) record(pub time.Time, d, before time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.hist.RecordValue(d.Microseconds())
	r.seconds.add(int(max(0, pub.Sub(r.start))/time.Second), d)
	r.slow.add(d, before)
}

// slowAfter is the latency from which (c) splits a sample into its hops.
const slowAfter = 20 * time.Millisecond

// slowSplit tells where the slow samples of (c) spent their time: before
// parkd's store call (the publisher, the broker, parkd's queue and batch
// wait) or after it (the Redis write, the API read, the poll's step). The
// store call's time is the space's last_seen, which parkd takes just
// before its Redis round trip, to the millisecond.
type slowSplit struct {
	n             int             // samples of slowAfter or more
	before, after []time.Duration // of those whose store call time is known
}

// add counts a sample of latency d, before of it until the store call
// (-1 if unknown), if it is slow.
func (s *slowSplit) add(d, before time.Duration) {
	if d < slowAfter {
		return
	}
	s.n++
	if before >= 0 {
		before = min(before, d)
		s.before, s.after = append(s.before, before), append(s.after, d-before)
	}
}

// String sums it up for the table.
func (s slowSplit) String() string {
	if s.n == 0 {
		return fmt.Sprintf("no sample over %v", slowAfter)
	}
	out := fmt.Sprintf("%d over %v", s.n, slowAfter)
	if len(s.before) > 0 {
		med := func(ds []time.Duration) float64 { return ms(slices.Sorted(slices.Values(ds))[len(ds)/2]) }
		out += fmt.Sprintf(", median %.1f ms of it before parkd's store call (broker, parkd's queue) and %.1f ms after (Redis, API)",
			med(s.before), med(s.after))
	}
	return out
}

// partLatency is (c): publish → visible-in-API latency at fixed rates.
func (b *bench) partLatency(ctx context.Context) error {
	rates, err := parseList(b.f.latRates)
	if err != nil {
		return err
	}
	for _, r := range rates {
		b.settle(ctx, fmt.Sprintf("(c) at %.0f msg/s", r))
		before := b.aofRewrites()
		res, err := b.latencyAt(ctx, r)
		if err != nil {
			return err
		}
		rewrites := int64(-1)
		if after := b.aofRewrites(); before >= 0 && after >= 0 {
			rewrites = after - before
		}
		h := res.hist
		p99 := time.Duration(h.ValueAtQuantile(99)) * time.Microsecond
		limit := 50 * time.Millisecond
		if r <= 1000 {
			limit = 20 * time.Millisecond
		}
		ms := func(q float64) string {
			return fmt.Sprintf("%.1f", float64(h.ValueAtQuantile(q))/1000)
		}
		b.progress("bench: (c) %.0f msg/s, p99 of each second in ms: %s", r, res.seconds)
		b.add(benchRow{part: "c", what: fmt.Sprintf("publish → visible at %.0f msg/s, p50/p99/p99.9", r),
			figure: fmt.Sprintf("%s / %s / %s ms (max %.1f ms; %d samples, %d not visible in %v; %d msgs sent); worst second %s; slow samples: %s; Redis AOF rewrites meanwhile: %s",
				ms(50), ms(99), ms(99.9), float64(h.Max())/1000, h.TotalCount(), res.timedOut.Load(),
				visibleTimeout, res.sent, res.seconds.worst(), res.slow, count(rewrites)),
			target: fmt.Sprintf("p99 ≤ %v", limit), verdict: verdict(p99 <= limit && res.timedOut.Load() == 0)})
	}
	return nil
}

// latencyAt publishes at rate for latDuration and polls the API for a
// sample of the messages until each shows. Samples of the first second
// (warm-up) are not recorded.
func (b *bench) latencyAt(ctx context.Context, rate float64) (*latencyResult, error) {
	res := &latencyResult{hist: hdrhistogram.New(1, int64(visibleTimeout/time.Microsecond), 3)}
	every := max(1, int(rate/b.f.sampleRate))
	samples := make(chan simulator.LoadSample, 100000)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range samples {
				b.pollVisible(ctx, s, res)
			}
		}()
	}
	b.progress("bench: (c) %.0f msg/s for %v, polling the API for 1 message in %d", rate, b.f.latDuration, every)
	warm := time.Now().Add(time.Second)
	res.start = warm
	o := b.loadOptions()
	o.Rate, o.Duration, o.SampleEvery = rate, b.f.latDuration, every
	o.OnSample = func(s simulator.LoadSample) {
		if s.Published.After(warm) {
			select {
			case samples <- s:
			default: // the pollers are hopelessly behind; the timeouts will say so
			}
		}
	}
	st, err := simulator.Load(ctx, o)
	close(samples)
	wg.Wait()
	res.sent = st.Sent
	return res, err
}

// spaceView is the part of GET /api/v1/spaces/{id} the poll reads.
type spaceView struct {
	Status   string     `json:"status"`
	Since    *time.Time `json:"since"`
	LastSeen *time.Time `json:"last_seen"`
}

// beforeStore is how long after pub parkd called its store for the reading
// v shows, if v shows the sampled reading itself (sensor time want, in
// ms); -1 if not (a newer reading of the sensor has its own last_seen).
func (v spaceView) beforeStore(pub time.Time, want int64) time.Duration {
	if v.Since == nil || v.LastSeen == nil || v.Since.UnixMilli() != want {
		return -1
	}
	return max(0, v.LastSeen.Sub(pub))
}

// pollVisible polls GET /api/v1/spaces/{id} until the space shows the
// sampled reading or a newer one of its sensor (since ≥ its sensor time:
// every load message changes the status, so since is its sensor time once
// applied), then records the time from publish to the answer that showed
// it. The pause between polls is a twentieth of the sample's age (0.25 ms
// to 50 ms): a 5% resolution, and a poll load that stays small when parkd
// falls behind instead of adding to its trouble.
func (b *bench) pollVisible(ctx context.Context, s simulator.LoadSample, res *latencyResult) {
	url := b.parkd.base + "/api/v1/spaces/" + s.SpaceID
	want := s.TS.UnixMilli()
	for ctx.Err() == nil {
		v, err := b.getSpace(url)
		age := time.Since(s.Published)
		if err == nil && v.Since != nil && v.Since.UnixMilli() >= want {
			res.record(s.Published, age, v.beforeStore(s.Published, want))
			return
		}
		if age > visibleTimeout {
			res.timedOut.Add(1)
			return
		}
		time.Sleep(min(max(age/20, 250*time.Microsecond), 50*time.Millisecond))
	}
}

// getSpace reads one space from the API.
func (b *bench) getSpace(url string) (spaceView, error) {
	var v spaceView
	resp, err := b.http.Get(url)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return v, json.NewDecoder(resp.Body).Decode(&v)
}
