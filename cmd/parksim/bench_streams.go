package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/sync/errgroup"
)

// Part (g): live streams at their limit. A parkd of its own (default
// stream limits but -streams-per-ip per client address) while `parksim
// load` publishes at -streams-ingest-rate: the bench measures /healthz and
// /api/v1/summary (half the time, the baseline), opens -streams event
// streams from -stream-addrs loopback addresses (127.0.0.2, 127.0.0.3, …),
// holds them, and meanwhile measures the two again, parkd's RSS, and
// checks that the refused streams are counted in /metrics. Every open
// stream is read as fast as it comes: with every message a change, each
// receives about 2000 events a second.

// streamsRSSTarget is the most RSS parkd may take with its streams full
// (2000 streams, the Qiuai registry, ingest on).
const streamsRSSTarget = 200e6

// streamsP99Target is the p99 /healthz and /api/v1/summary must keep.
const streamsP99Target = 100 * time.Millisecond

// streamSet is what opening the streams found.
type streamSet struct {
	open, refused429, refused503, failed atomic.Int64
	noRetryAfter                         atomic.Int64 // refusals without Retry-After
	bytes                                atomic.Int64 // read from the open streams
	ended                                atomic.Int64 // open streams parkd ended (dropped for falling behind)
	mu                                   sync.Mutex
	conns                                []net.Conn
	failures                             map[string]int // refusals of another kind, by status and code
}

// partStreams is (g).
func (b *bench) partStreams(ctx context.Context) error {
	f := b.f
	p, _, err := b.startParkd(ctx, "streams", b.regDir, time.Minute, "PARKD_EVENTS_MAX_PER_IP="+strconv.Itoa(f.streamsPerIP))
	if err != nil {
		return err
	}
	defer p.stop()
	hold := 2*f.streamsAPIDuration + 10*time.Second
	ingest, err := b.startIngest(f.streamsIngest, hold+30*time.Second)
	if err != nil {
		return err
	}
	defer ingest.stop()
	var maxRSS atomic.Int64
	stopRSS := b.ticker(250*time.Millisecond, func(io.Writer) {
		if n, err := rss(p.pid()); err == nil && n > maxRSS.Load() {
			maxRSS.Store(n)
		}
	})
	defer stopRSS()
	time.Sleep(time.Second) // ingest reaches its rate
	base := map[string]vegeta.Metrics{}
	for _, ep := range []string{"/healthz", "/api/v1/summary"} {
		base[ep] = b.attackFor(p.base+ep, f.streamsAPIRate, f.streamsAPIDuration/2)
	}
	b.progress("bench: (g) opening %d event streams from %d addresses, ingest at %.0f msg/s", f.streams, f.streamAddrs, f.streamsIngest)
	set, took := b.openStreams(ctx, p.base, f.streams, f.streamAddrs)
	defer set.closeAll()
	b.add(benchRow{part: "g", what: fmt.Sprintf("%d streams from %d addresses (parkd: at most 2000, %d per address)", f.streams, f.streamAddrs, f.streamsPerIP),
		figure: fmt.Sprintf("opened in %.1f s: %d open, %d refused 503 (max_streams), %d refused 429 (max_per_ip), %d failed %v, %d refusals without Retry-After",
			took.Seconds(), set.open.Load(), set.refused503.Load(), set.refused429.Load(), set.failed.Load(), set.failures, set.noRetryAfter.Load()),
		target: "-", verdict: "-"})
	for _, ep := range []string{"/healthz", "/api/v1/summary"} {
		m, bm := b.attackFor(p.base+ep, f.streamsAPIRate, f.streamsAPIDuration), base[ep]
		b.add(benchRow{part: "g", what: fmt.Sprintf("%s at %d req/s beside the open streams: p50/p99 (before they opened)", ep, f.streamsAPIRate),
			figure: fmt.Sprintf("%.2f / %.2f ms, max %.1f ms, %.2f%% success (%.2f / %.2f ms)", ms(m.Latencies.P50), ms(m.Latencies.P99),
				ms(m.Latencies.Max), 100*m.Success, ms(bm.Latencies.P50), ms(bm.Latencies.P99)),
			target: fmt.Sprintf("p99 ≤ %v", streamsP99Target), verdict: verdict(m.Latencies.P99 <= streamsP99Target && m.Success == 1)})
	}
	return b.streamsAfter(p, set, &maxRSS, ingest)
}

// streamsAfter adds the rows of (g) read after the hold: /metrics against
// the bench's own count, RSS, and what the streams received.
func (b *bench) streamsAfter(p *parkdProc, set *streamSet, maxRSS *atomic.Int64, ingest *child) error {
	perIP, err := p.metric(`parkd_events_refused_total{reason="max_per_ip"}`)
	if err != nil {
		return err
	}
	total, err := p.metric(`parkd_events_refused_total{reason="max_streams"}`)
	if err != nil {
		return err
	}
	following, _ := p.metric("parkd_events_streams ")
	dropped, _ := p.metric("parkd_events_dropped_total ")
	counted := int64(perIP) == set.refused429.Load() && int64(total) == set.refused503.Load()
	b.add(benchRow{part: "g", what: "refused streams in /metrics (parkd_events_refused_total) against the bench's count",
		figure: fmt.Sprintf("max_per_ip %.0f, max_streams %.0f; streams following the feed at the end %.0f, dropped for falling behind %.0f",
			perIP, total, following, dropped), target: "equal", verdict: verdict(counted)})
	b.add(benchRow{part: "g", what: "what the open streams received during the hold",
		figure: fmt.Sprintf("%.1f MB in all, %.1f KB a stream; %d ended by parkd", float64(set.bytes.Load())/1e6,
			float64(set.bytes.Load())/1e3/float64(max(1, set.open.Load())), set.ended.Load()), target: "-", verdict: "-"})
	_, desc := p.memory()
	b.add(benchRow{part: "g", what: "parkd RSS with its streams full: highest sampled / at the end",
		figure: fmt.Sprintf("%s / %s", mb(maxRSS.Load()), desc), target: fmt.Sprintf("≤ %s", mb(streamsRSSTarget)),
		verdict: verdict(maxRSS.Load() <= streamsRSSTarget)})
	ingest.stop()
	b.add(benchRow{part: "g", what: "background ingest during (g), `parksim load` in its own process", target: "-", verdict: "-",
		figure: reportLine(ingest.log, "sent ")})
	return nil
}

// openStreams opens n event streams on base from addrs loopback addresses
// (127.0.0.2 on), 64 at a time, and keeps the open ones read.
func (b *bench) openStreams(ctx context.Context, base string, n, addrs int) (*streamSet, time.Duration) {
	set := &streamSet{failures: map[string]int{}}
	host := strings.TrimPrefix(base, "http://")
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(64)
	for i := range n {
		src := net.IPv4(127, 0, 0, byte(2+i%addrs))
		g.Go(func() error { set.openOne(ctx, host, src); return nil })
	}
	_ = g.Wait()
	return set, time.Since(start)
}

// openOne opens one stream from src and, if parkd accepts it, reads it
// until it ends or is closed.
func (s *streamSet) openOne(ctx context.Context, host string, src net.IP) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		s.fail("dial")
		return
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /api/v1/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", host)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		s.fail("no answer")
		conn.Close()
		return
	}
	if resp.StatusCode != http.StatusOK {
		s.refused(resp)
		resp.Body.Close()
		conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	s.open.Add(1)
	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.mu.Unlock()
	go s.drain(resp.Body)
}

// refused counts a refused stream: 429 at the per-address limit, 503 at
// the total one (its message names the streams), anything else (a 503
// because Redis did not answer in time) as failed.
func (s *streamSet) refused(resp *http.Response) {
	var body struct {
		Error struct{ Code, Message string }
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		s.refused429.Add(1)
	case resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(body.Error.Message, "live streams"):
		s.refused503.Add(1)
	default:
		s.fail(fmt.Sprintf("%d %s", resp.StatusCode, body.Error.Code))
		return
	}
	if resp.Header.Get("Retry-After") == "" {
		s.noRetryAfter.Add(1)
	}
}

// drain reads an open stream until it ends, counting what it receives as
// it comes, and whether parkd ended it (rather than the bench closing it).
func (s *streamSet) drain(body io.ReadCloser) {
	if _, err := io.Copy(countingDiscard{&s.bytes}, body); err == nil { // a clean end: parkd closed the stream
		s.ended.Add(1)
	}
}

// countingDiscard discards what it is written, counting the bytes.
type countingDiscard struct{ n *atomic.Int64 }

func (c countingDiscard) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// fail counts a stream that could not be opened, by why.
func (s *streamSet) fail(why string) {
	s.failed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[why]++
}

// closeAll closes every open stream.
func (s *streamSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// attackFor runs vegeta against url at rate for d and returns its metrics.
func (b *bench) attackFor(url string, rate int, d time.Duration) vegeta.Metrics {
	b.progress("bench: (g) %s at %d req/s for %v", url, rate, d)
	atk := vegeta.NewAttacker(vegeta.Timeout(5*time.Second), vegeta.KeepAlive(true), vegeta.Connections(64), vegeta.Workers(16))
	var m vegeta.Metrics
	for r := range atk.Attack(vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: url}), vegeta.Rate{Freq: rate, Per: time.Second}, d, url) {
		m.Add(r)
	}
	m.Close()
	return m
}
