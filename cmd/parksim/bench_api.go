package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
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
	ingest, err := b.startIngest(time.Duration(len(endpoints)+1) * (b.f.apiDuration + 2*time.Second))
	if err != nil {
		return err
	}
	defer ingest.stop()
	time.Sleep(time.Second) // ingest reaches its rate
	for _, ep := range endpoints {
		b.progress("bench: (d) %s at %d req/s for %v, ingest at %.0f msg/s", ep.name, b.f.apiRate, b.f.apiDuration, b.f.ingestRate)
		m := b.attack(ep)
		row := benchRow{part: "d", what: fmt.Sprintf("%s at %d req/s, ingest %.0f msg/s: p50/p99, throughput", ep.name, b.f.apiRate, b.f.ingestRate),
			figure: fmt.Sprintf("%.2f / %.2f ms, %.0f req/s ok (%.2f%% success, max %.1f ms)",
				ms(m.Latencies.P50), ms(m.Latencies.P99), m.Throughput, 100*m.Success, ms(m.Latencies.Max)),
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
		figure: ingestReport(ingest.log)})
	_, desc := b.parkd.memory()
	b.add(benchRow{part: "f", what: "parkd RSS after (d), Qiuai registry", figure: desc, target: "-", verdict: "-"})
	return nil
}

// startIngest starts the background ingest of (d): `parksim load` at
// -ingest-rate for d, as a process of its own, so that vegeta's latencies
// are not those of goroutines waiting behind the publisher's in the same Go
// runtime (sensors are not inside a town's load generator either). Its
// sensors start from sequence 0 at the current time, so its readings are
// newer than what earlier parts left and apply.
func (b *bench) startIngest(d time.Duration) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("background ingest: %w", err)
	}
	return startChild("parksim load", filepath.Join(b.sub("ingest"), "load.log"), b.dir, nil, self, "load",
		"-broker", b.mqtt, "-registry", b.regDir, "-client-id", "bench-ingest",
		"-rate", strconv.FormatFloat(b.f.ingestRate, 'f', -1, 64), "-duration", d.String(),
		"-connections", strconv.Itoa(b.f.connections), "-quiet")
}

// ingestReport is the summary line `parksim load` wrote in its log, or
// what went wrong.
func ingestReport(log string) string {
	data, err := os.ReadFile(log)
	if err != nil {
		return "unknown: " + err.Error()
	}
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "sent ") {
			return strings.TrimSpace(line)
		}
	}
	return "unknown: no summary in " + log
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

// attack runs vegeta against one endpoint (127.0.0.1 only) at the API rate
// for the API duration and returns its metrics.
func (b *bench) attack(ep apiEndpoint) vegeta.Metrics {
	atk := vegeta.NewAttacker(vegeta.Timeout(5*time.Second), vegeta.KeepAlive(true),
		vegeta.Connections(256), vegeta.Workers(32), vegeta.MaxWorkers(512))
	rate := vegeta.Rate{Freq: b.f.apiRate, Per: time.Second}
	var m vegeta.Metrics
	for r := range atk.Attack(vegeta.NewStaticTargeter(ep.targets...), rate, b.f.apiDuration, ep.name) {
		m.Add(r)
	}
	m.Close()
	return m
}
