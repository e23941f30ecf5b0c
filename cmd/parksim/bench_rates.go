package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rateRound is what one round of (a) or (b) measured.
type rateRound struct {
	rate  float64  // messages per second, delivered (a) or processed (b)
	acked float64  // the publisher's rate of PUBACKs
	cpu   cpuTimes // CPU time each process used during the round
}

// partRates runs (a) and (b), whichever -only asks for, in -rounds rounds,
// (a) then (b) in each, and adds their rows: the medians, each round's
// figure, the ratio of the medians and the CPU each process used per
// message. Rates on a shared 2-core machine move by a fifth from one
// minute to the next (docs/benchmarks.md, Noise); alternating the parts
// and taking medians compares them under the same conditions. parkd runs
// idle during (a), whose stream it does not subscribe to.
func (b *bench) partRates(ctx context.Context) error {
	var as, bs []rateRound
	for r := 1; r <= b.f.rounds; r++ {
		if b.only["a"] {
			m, err := b.measureBroker(ctx)
			if err != nil {
				return err
			}
			as = append(as, m)
			b.progress("bench: (a) round %d of %d: %.0f msg/s", r, b.f.rounds, m.rate)
		}
		if b.only["b"] {
			m, err := b.measureParkd(ctx)
			if err != nil {
				return fmt.Errorf("(b): %w", err)
			}
			bs = append(bs, m)
			b.progress("bench: (b) round %d of %d: %.0f msg/s", r, b.f.rounds, m.rate)
		}
	}
	n := b.f.messages * uint64(b.f.rounds)
	if len(as) > 0 {
		b.add(benchRow{part: "a", what: "bare broker delivery rate (QoS 1, plain subscriber)",
			figure: fmt.Sprintf("%.0f msg/s, median of %s; publisher acked %.0f msg/s", median(as, rateOf), roundList(as, b.f.messages),
				median(as, ackedOf)), target: "-", verdict: "-"})
		b.add(benchRow{part: "a", what: "CPU per message during (a)",
			figure: cpuPerMessage(as, n, "mosquitto", "parksim"), target: "-", verdict: "-"})
	}
	if len(bs) == 0 {
		return nil
	}
	row := benchRow{part: "b", what: "parkd end-to-end processed rate, same stream",
		figure: fmt.Sprintf("%.0f msg/s, median of %s", median(bs, rateOf), roundList(bs, b.f.messages)),
		target: "(b)/(a) ≥ 0.8 (run with a)", verdict: "-"}
	if len(as) > 0 {
		ratio := median(bs, rateOf) / median(as, rateOf)
		per := make([]string, len(bs))
		for i := range bs {
			per[i] = fmt.Sprintf("%.2f", bs[i].rate/as[i].rate)
		}
		row.figure += fmt.Sprintf("; (b)/(a) = %.2f (each round: %s)", ratio, strings.Join(per, ", "))
		row.target, row.verdict = "(b)/(a) ≥ 0.8", verdict(ratio >= 0.8)
	}
	b.add(row)
	b.add(benchRow{part: "b", what: "CPU per message during (b)",
		figure: cpuPerMessage(bs, n, "parkd", "redis", "mosquitto", "parksim"), target: "-", verdict: "-"})
	return nil
}

func rateOf(r rateRound) float64  { return r.rate }
func ackedOf(r rateRound) float64 { return r.acked }

// median returns the median of f over rs (the mean of the middle two for
// an even count).
func median(rs []rateRound, f func(rateRound) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// roundList says how many rounds of n messages ran and each one's rate.
func roundList(rs []rateRound, n uint64) string {
	each := make([]string, len(rs))
	for i, r := range rs {
		each[i] = fmt.Sprintf("%.0f", r.rate)
	}
	return fmt.Sprintf("%d rounds of %d msgs (%s msg/s)", len(rs), n, strings.Join(each, ", "))
}

// cpuPerMessage gives the CPU time each named process used per message
// over all rounds, in µs.
func cpuPerMessage(rs []rateRound, messages uint64, names ...string) string {
	var out []string
	for _, name := range names {
		var sum time.Duration
		known := true
		for _, r := range rs {
			d, ok := r.cpu[name]
			known = known && ok
			sum += d
		}
		v := "unknown"
		if known {
			v = fmt.Sprintf("%.1f µs", float64(sum.Microseconds())/float64(messages))
		}
		out = append(out, cpuLabels[name]+" "+v)
	}
	return strings.Join(out, ", ")
}

// cpuLabels name the processes whose CPU the bench reads.
var cpuLabels = map[string]string{
	"parkd":     "parkd",
	"redis":     "Redis",
	"mosquitto": "Mosquitto",
	"parksim":   "parksim (publisher, plain subscriber or metrics polls)",
}

// cpuTimes is the CPU time (user + system) each process has used, by name
// (cpuLabels); a process whose time cannot be read is missing.
type cpuTimes map[string]time.Duration

// since returns the CPU each process used from t0 to c.
func (c cpuTimes) since(t0 cpuTimes) cpuTimes {
	out := cpuTimes{}
	for name, d := range c {
		if d0, ok := t0[name]; ok {
			out[name] = d - d0
		}
	}
	return out
}

// cpuTimes reads the CPU time used so far by parkd (its
// process_cpu_seconds_total), Redis (INFO cpu), Mosquitto and this process
// (the kernel's accounting, on Linux).
func (b *bench) cpuTimes() cpuTimes {
	c := cpuTimes{}
	if b.parkd != nil {
		if v, err := b.parkd.metric("process_cpu_seconds_total "); err == nil {
			c["parkd"] = time.Duration(v * float64(time.Second))
		}
	}
	if info, err := b.rdb.Info(context.Background(), "cpu").Result(); err == nil {
		var sum float64
		found := 0
		for line := range strings.Lines(info) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			if k == "used_cpu_sys" || k == "used_cpu_user" {
				f, err := strconv.ParseFloat(v, 64)
				if err == nil {
					sum += f
					found++
				}
			}
		}
		if found == 2 {
			c["redis"] = time.Duration(sum * float64(time.Second))
		}
	}
	if b.mosq != nil {
		if d, err := processCPU(b.mosq.pid()); err == nil {
			c["mosquitto"] = d
		}
	}
	if d, err := selfCPU(); err == nil {
		c["parksim"] = d
	}
	return c
}
