package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// apiEndpoint is one endpoint attacked in (d).
type apiEndpoint struct {
	name    string
	targets []vegeta.Target
	p99     time.Duration // target p99, 0: none
}

// partAPI is (d): API latency and throughput of nearby, summary and zones,
// one endpoint at a time at -api-rate, while ingest runs at -ingest-rate.
func (b *bench) partAPI(ctx context.Context) error {
	endpoints := b.apiEndpoints()
	ingest, err := b.startIngest(b.f.ingestRate, time.Duration(len(endpoints)+1)*(b.f.apiWarmup+b.f.apiDuration+2*time.Second))
	if err != nil {
		return err
	}
	defer ingest.stop()
	time.Sleep(time.Second) // ingest reaches its rate
	for _, ep := range endpoints {
		b.progress("bench: (d) %s at %d req/s for %v (after %v not measured), ingest at %.0f msg/s", ep.name, b.f.apiRate, b.f.apiDuration, b.f.apiWarmup, b.f.ingestRate)
		a := b.attack(ep)
		m := a.metrics
		b.progress("bench: (d) %s, p99 of each second in ms: %s", ep.name, a.seconds)
		row := benchRow{part: "d", what: fmt.Sprintf("%s at %d req/s, ingest %.0f msg/s: p50/p99, throughput", ep.name, b.f.apiRate, b.f.ingestRate),
			figure: fmt.Sprintf("%.2f / %.2f ms, %.0f req/s ok (%.2f%% success, max %.1f ms); worst second %s; Redis AOF rewrites meanwhile: %s; machine stalls: %s",
				ms(m.Latencies.P50), ms(m.Latencies.P99), m.Throughput, 100*m.Success, ms(m.Latencies.Max), a.seconds.worst(), count(a.rewrites), a.stalls),
			target: "-", verdict: "-"}
		if len(m.Errors) > 0 {
			row.figure += "; errors: " + strings.Join(m.Errors[:min(3, len(m.Errors))], "; ")
		}
		if ep.p99 > 0 {
			row.target = fmt.Sprintf("p99 ≤ %v", ep.p99)
			row.verdict = verdict(m.Latencies.P99 <= ep.p99 && m.Success == 1)
		}
		b.add(row)
	}
	ingest.stop() // SIGTERM: it stops publishing and reports
	b.add(benchRow{part: "d", what: "background ingest during (d), `parksim load` in its own process", target: "-", verdict: "-",
		figure: reportLine(ingest.log, "sent ")})
	_, desc := b.parkd.memory()
	b.add(benchRow{part: "f", what: "parkd RSS after (d), Qiuai registry", figure: desc, target: "-", verdict: "-"})
	return nil
}

// startIngest starts the background ingest of (d) and (g): `parksim load`
// at rate msg/s for d, as a process of its own, so that vegeta's latencies
// are not those of goroutines waiting behind the publisher's in the same Go
// runtime (sensors are not inside a town's load generator either). Its
// sensors start from sequence 0 at the current time, so its readings are
// newer than what earlier parts left and apply.
func (b *bench) startIngest(rate float64, d time.Duration) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("background ingest: %w", err)
	}
	return startChild("parksim load", filepath.Join(b.sub("ingest"), "load.log"), b.dir, nil, self, "load",
		"-broker", b.mqtt, "-registry", b.regDir, "-client-id", "bench-ingest",
		"-rate", strconv.FormatFloat(rate, 'f', -1, 64), "-duration", d.String(),
		"-connections", strconv.Itoa(b.f.connections), "-quiet")
}

// reportLine is the line starting with prefix that a child (`parksim
// load`, `parksim stalls`) wrote in its log as its report, or what went
// wrong.
func reportLine(log, prefix string) string {
	data, err := os.ReadFile(log)
	if err != nil {
		return "unknown: " + err.Error()
	}
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(line)
		}
	}
	return "unknown: no report in " + log
}

// count renders n, or "unknown" if it is negative.
func count(n int64) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.FormatInt(n, 10)
}

// ms renders a duration in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// apiEndpoints are the endpoints of (d) and their targets: nearby around
// random spaces of the registry (radius 300 m, 10 results), summary, zones.
func (b *bench) apiEndpoints() []apiEndpoint {
	rng := rand.New(rand.NewPCG(1, 2))
	spaces := b.reg.Spaces()
	nearby := make([]vegeta.Target, 1000)
	for i := range nearby {
		sp := spaces[rng.IntN(len(spaces))]
		lat, lon := sp.Lat+(rng.Float64()-0.5)*0.002, sp.Lon+(rng.Float64()-0.5)*0.002
		nearby[i] = vegeta.Target{Method: "GET",
			URL: fmt.Sprintf("%s/api/v1/nearby?lat=%.6f&lon=%.6f&radius_m=300&limit=10", b.parkd.base, lat, lon)}
	}
	return []apiEndpoint{
		{name: "/api/v1/nearby", targets: nearby, p99: 10 * time.Millisecond},
		{name: "/api/v1/summary", targets: []vegeta.Target{{Method: "GET", URL: b.parkd.base + "/api/v1/summary"}}},
		{name: "/api/v1/zones", targets: []vegeta.Target{{Method: "GET", URL: b.parkd.base + "/api/v1/zones"}}},
	}
}

// attackResult is what one endpoint's attack measured.
type attackResult struct {
	metrics  vegeta.Metrics
	seconds  bySecond // latencies by the second of the attack they were sent in
	stalls   string   // what `parksim stalls` saw meanwhile
	rewrites int64    // Redis AOF rewrites meanwhile; -1: unknown
}

// attack runs vegeta against one endpoint (127.0.0.1 only) at the API rate
// for the warm-up and the API duration, and returns what it measured of the
// requests sent after the warm-up, with what `parksim stalls`, in a process
// of its own, saw meanwhile. (A vegeta Attacker runs one attack only, so
// the warm-up is the start of the same attack.)
func (b *bench) attack(ep apiEndpoint) attackResult {
	atk := vegeta.NewAttacker(vegeta.Timeout(5*time.Second), vegeta.KeepAlive(true),
		vegeta.Connections(256), vegeta.Workers(32), vegeta.MaxWorkers(512))
	rate := vegeta.Rate{Freq: b.f.apiRate, Per: time.Second}
	type probeStart struct {
		c        *child
		err      error
		rewrites int64
	}
	probe := make(chan probeStart, 1)
	measured := time.Now().Add(max(0, b.f.apiWarmup))
	time.AfterFunc(time.Until(measured), func() {
		rewrites := b.aofRewrites()
		c, err := b.startStallProbe(ep.name, b.f.apiDuration+time.Minute)
		probe <- probeStart{c, err, rewrites}
	})
	var a attackResult
	for r := range atk.Attack(vegeta.NewStaticTargeter(ep.targets...), rate, max(0, b.f.apiWarmup)+b.f.apiDuration, ep.name) {
		if r.Timestamp.Before(measured) {
			continue
		}
		a.metrics.Add(r)
		a.seconds.add(int(r.Timestamp.Sub(measured)/time.Second), r.Latency)
	}
	a.metrics.Close()
	p := <-probe
	if p.err != nil {
		a.stalls = "not measured: " + p.err.Error()
	} else {
		p.c.stop() // SIGTERM: it reports what it saw
		a.stalls = reportLine(p.c.log, "wake-ups ")
	}
	if a.rewrites = -1; p.rewrites >= 0 {
		if n := b.aofRewrites(); n >= 0 {
			a.rewrites = n - p.rewrites
		}
	}
	return a
}

// bySecond holds latencies by the second (of a measurement) they were
// sent in.
type bySecond [][]time.Duration

// add records latency d of something sent at second sec (from 0).
func (s *bySecond) add(sec int, d time.Duration) {
	for len(*s) <= sec {
		*s = append(*s, nil)
	}
	(*s)[sec] = append((*s)[sec], d)
}

// p99s returns each second's p99 (-1 for a second with nothing).
func (s bySecond) p99s() []time.Duration {
	out := make([]time.Duration, len(s))
	for i, lat := range s {
		out[i] = -1
		if len(lat) > 0 {
			lat = slices.Sorted(slices.Values(lat))
			out[i] = lat[(len(lat)*99)/100]
		}
	}
	return out
}

// worst is the second whose latencies had the highest p99, with that p99:
// where a tail comes from one stall, it shows.
func (s bySecond) worst() string {
	p99s := s.p99s()
	if len(p99s) == 0 || slices.Max(p99s) < 0 {
		return "none"
	}
	at := slices.Index(p99s, slices.Max(p99s))
	return fmt.Sprintf("+%ds p99 %.1f ms", at, ms(p99s[at]))
}

// String lists each second's p99 in ms, for the progress lines.
func (s bySecond) String() string {
	f := make([]string, 0, len(s))
	for _, d := range s.p99s() {
		f = append(f, fmt.Sprintf("%.1f", ms(d)))
	}
	return strings.Join(f, " ")
}

// startStallProbe starts `parksim stalls` for at most d, logging to a file
// named after the endpoint.
func (b *bench) startStallProbe(endpoint string, d time.Duration) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("stall probe: %w", err)
	}
	name := strings.NewReplacer("/", "_").Replace(strings.TrimPrefix(endpoint, "/"))
	return startChild("parksim stalls", filepath.Join(b.sub("stalls"), name+".log"), b.dir, nil, self, "stalls",
		"-duration", d.String(), "-quiet")
}
