package simulator

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/qiuai/parking/ingest/codec"
)

// Faults are the faults the simulator injects on request. Each is a
// percentage, 0-100; zero turns the fault off.
type Faults struct {
	// DuplicatePct is the share of real messages published twice with the
	// same payload.
	DuplicatePct float64
	// ReorderPct is the share of real messages held back and published only
	// after the same sensor's next message, so that an older reading arrives
	// after a newer one. Held messages are flushed at the end of a run.
	ReorderPct float64
	// MalformedPct is the number of garbage messages per 100 real ones,
	// published in addition to the real stream (never instead of a reading):
	// broken JSON, a missing ts, occupied as a string, a ts far in the
	// future (parkd rejects it for its clock, result clock, and takes it
	// for a sign of life), and once in a while a payload over 64 KiB.
	MalformedPct float64
	// SilentPct is the share of sensors that never send anything; their
	// spaces must stay unknown.
	SilentPct float64
}

// validate checks that every percentage is in 0-100.
func (f Faults) validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"DuplicatePct", f.DuplicatePct}, {"ReorderPct", f.ReorderPct},
		{"MalformedPct", f.MalformedPct}, {"SilentPct", f.SilentPct}} {
		if !(p.v >= 0 && p.v <= 100) { // also catches NaN
			return fmt.Errorf("simulator: faults: %s %v is out of range 0-100", p.name, p.v)
		}
	}
	return nil
}

// hugeEvery makes every hugeEvery-th malformed message an oversized one.
const hugeEvery = 50

// hugeSize is the size of an oversized payload: over the 64 KiB limit.
const hugeSize = 70 << 10

// injector decides which faults hit each message. It owns its random
// source, separate from the demand model's, so that turning a fault on does
// not change the demand.
type injector struct {
	dup, hold, malformed float64 // probabilities, 0-1
	rng                  *rand.Rand
	nMalformed           uint64
}

// newInjector returns an injector for f drawing from rng.
func newInjector(f Faults, rng *rand.Rand) *injector {
	in := &injector{dup: f.DuplicatePct / 100, malformed: f.MalformedPct / 100, rng: rng}
	// A held message is released by the sensor's next one, which therefore
	// cannot be held itself. Holding an eligible message with probability
	// q = p/(1-p) makes the share h of held messages h = q(1-h) = p.
	if p := f.ReorderPct / 100; p >= 0.5 {
		in.hold = 1
	} else {
		in.hold = p / (1 - p)
	}
	return in
}

// chance reports true with probability p, drawing only when 0 < p < 1 so
// that a disabled fault consumes no randomness.
func (in *injector) chance(p float64) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	return in.rng.Float64() < p
}

// duplicate reports whether a message is published twice.
func (in *injector) duplicate() bool { return in.chance(in.dup) }

// reorder reports whether an eligible message is held back.
func (in *injector) reorder() bool { return in.chance(in.hold) }

// garbage returns a malformed payload to publish after the real message m,
// or nil. Payloads that carry a plausible ts claim m's time, the next
// sequence number and the opposite occupancy, so that a service that
// wrongly accepted one would show a mismatch.
func (in *injector) garbage(m *message) []byte {
	if !in.chance(in.malformed) {
		return nil
	}
	in.nMalformed++
	if in.nMalformed%hugeEvery == 0 {
		return hugePayload(m)
	}
	ts := string(codec.AppendTS(nil, m.time()))
	occ := strconv.FormatBool(!m.occupied)
	seq := strconv.FormatUint(m.seq+1, 10)
	switch in.rng.IntN(9) {
	case 0: // truncated JSON
		fake := *m
		fake.occupied, fake.seq = !m.occupied, m.seq+1
		p := encode(&fake)
		return p[:len(p)/2]
	case 1:
		return []byte("\x00\xffnot json at all")
	case 2: // ts missing
		return []byte(`{"occupied":` + occ + `,"seq":` + seq + `,"kind":"status"}`)
	case 3: // occupied as a string
		return []byte(`{"occupied":"` + occ + `","ts":"` + ts + `","seq":` + seq + `}`)
	case 4: // ts not a time
		return []byte(`{"occupied":` + occ + `,"ts":"yesterday","seq":` + seq + `}`)
	case 5: // ts a day ahead: a sensor clock gone wrong
		ahead := string(codec.AppendTS(nil, m.time().Add(24*time.Hour)))
		return []byte(`{"occupied":` + occ + `,"ts":"` + ahead + `","seq":` + seq + `}`)
	case 6:
		return []byte(`[true,"` + ts + `"]`)
	case 7:
		return []byte{}
	default: // battery out of range
		return []byte(`{"occupied":` + occ + `,"ts":"` + ts + `","seq":` + seq + `,"battery_mv":-40}`)
	}
}

// hugePayload is an otherwise well-formed reading padded past 64 KiB.
func hugePayload(m *message) []byte {
	fake := *m
	fake.occupied, fake.seq = !m.occupied, m.seq+1
	p := encode(&fake)
	pad := `,"pad":"` + strings.Repeat("x", hugeSize-len(p)) + `"}`
	return append(p[:len(p)-1], pad...)
}
