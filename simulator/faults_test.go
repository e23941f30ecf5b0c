package simulator

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"
)

// clockStart is the first time of newModel's step clock, and modelNow a
// receive time after every message of a model run.
var (
	clockStart = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	modelNow   = clockStart.Add(time.Hour)
)

// arrived is a valid message as it arrived.
type arrived struct {
	index    int // position in the stream
	seq      uint64
	occupied bool
	ts       time.Time
}

// analysis is what a recorded stream shows.
type analysis struct {
	valid     map[string][]arrived // by sensor, in arrival order
	malformed int
	huge      int
}

// analyse decodes a stream received at now.
func analyse(tb testing.TB, msgs []recorded, now time.Time) analysis {
	tb.Helper()
	a := analysis{valid: map[string][]arrived{}}
	for i, m := range msgs {
		w, ts, ok := decodeValid(m.payload, now)
		if !ok {
			a.malformed++
			if len(m.payload) > 64<<10 {
				a.huge++
			}
			continue
		}
		id := sensorOf(m.topic)
		a.valid[id] = append(a.valid[id], arrived{index: i, seq: w.Seq, occupied: *w.Occupied, ts: ts})
	}
	return a
}

// runFaults simulates 10 minutes of 400 sensors with faults f.
func runFaults(tb testing.TB, f Faults, seed int64) (*Simulator, *recorder) {
	tb.Helper()
	s, rec := newModel(tb, Options{Faults: f, Seed: seed, Heartbeat: time.Minute})
	ctx := context.Background()
	s.simulate(ctx, 10*time.Minute)
	s.flush(ctx)
	return s, rec
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestFaultProportions(t *testing.T) {
	f := Faults{DuplicatePct: 10, ReorderPct: 10, MalformedPct: 5, SilentPct: 10}
	s, rec := runFaults(t, f, 7)
	st := s.Stats()
	a := analyse(t, rec.msgs, modelNow)
	readings := float64(st.Readings)
	t.Logf("readings %d, duplicates %d, reordered %d, malformed %d (huge %d)",
		st.Readings, st.Duplicates, st.Reordered, st.Malformed, a.huge)
	if readings < 5000 {
		t.Fatalf("only %d readings", st.Readings)
	}

	var dups, late int
	for id, msgs := range a.valid {
		copies := map[uint64]int{}
		var maxSeq uint64
		pos := map[uint64]int{}
		for _, m := range msgs {
			copies[m.seq]++
			if copies[m.seq] > 1 {
				dups++
				continue
			}
			pos[m.seq] = m.index
			if m.seq < maxSeq {
				late++
				if next, ok := pos[m.seq+1]; !ok || next > m.index {
					t.Errorf("sensor %s: late seq %d did not follow seq %d", id, m.seq, m.seq+1)
				}
			}
			maxSeq = max(maxSeq, m.seq)
		}
	}
	tests := []struct {
		name      string
		got, want int
		pct       float64
	}{
		{"duplicates", dups, int(st.Duplicates), f.DuplicatePct},
		{"reordered", late, int(st.Reordered), f.ReorderPct},
		{"malformed", a.malformed, int(st.Malformed), f.MalformedPct},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("stream has %d, stats say %d", tc.got, tc.want)
			}
			if share := 100 * float64(tc.got) / readings; !near(share, tc.pct, 1.5) {
				t.Errorf("%.2f%% of readings, want %.0f%% ±1.5", share, tc.pct)
			}
		})
	}
	if a.malformed >= hugeEvery && a.huge == 0 {
		t.Errorf("%d malformed messages and none over 64 KiB", a.malformed)
	}
	if want := len(s.sensors) / 10; st.Silent != want || len(a.valid) != len(s.sensors)-want {
		t.Errorf("silent %d, %d sensors sent; want %d silent of %d", st.Silent, len(a.valid), want, len(s.sensors))
	}
}

// TestStreamAndTruth checks every sensor's stream: seqs 1..n each sent,
// ts strictly increasing with seq, and the truth is the newest reading.
func TestStreamAndTruth(t *testing.T) {
	s, rec := runFaults(t, Faults{DuplicatePct: 20, ReorderPct: 30, MalformedPct: 10, SilentPct: 5}, 3)
	a := analyse(t, rec.msgs, modelNow)
	truth := s.Truth()
	for _, sn := range s.sensors {
		exp := truth[sn.space.ID]
		msgs := a.valid[sn.space.SensorID]
		if sn.silent {
			if len(msgs) != 0 || exp.Sent || exp.Status() != "unknown" {
				t.Errorf("silent %s: %d messages, truth %+v", sn.space.ID, len(msgs), exp)
			}
			continue
		}
		bySeq := map[uint64]arrived{}
		for _, m := range msgs {
			bySeq[m.seq] = m
		}
		for seq := uint64(1); seq <= sn.seq; seq++ {
			m, ok := bySeq[seq]
			if !ok {
				t.Fatalf("%s: seq %d of %d never sent", sn.space.ID, seq, sn.seq)
			}
			if prev, ok := bySeq[seq-1]; ok && !m.ts.After(prev.ts) {
				t.Fatalf("%s: ts of seq %d (%s) not after seq %d (%s)", sn.space.ID, seq, m.ts, seq-1, prev.ts)
			}
		}
		newest := bySeq[sn.seq]
		if !exp.Sent || exp.Seq != sn.seq || exp.Occupied != newest.occupied || !exp.TS.Equal(newest.ts) {
			t.Errorf("%s: truth %+v, newest reading %+v", sn.space.ID, exp, newest)
		}
	}
}

func TestDeterminism(t *testing.T) {
	f := Faults{DuplicatePct: 5, ReorderPct: 5, MalformedPct: 5, SilentPct: 5}
	_, a := runFaults(t, f, 11)
	_, b := runFaults(t, f, 11)
	_, c := runFaults(t, f, 12)
	if !sameStream(a.msgs, b.msgs) {
		t.Error("two runs with the same seed differ")
	}
	if sameStream(a.msgs, c.msgs) {
		t.Error("runs with seeds 11 and 12 are identical")
	}
}

// TestFaultsKeepDemand checks that faults other than silence leave the
// real readings unchanged.
func TestFaultsKeepDemand(t *testing.T) {
	_, plain := runFaults(t, Faults{SilentPct: 5}, 5)
	_, faulty := runFaults(t, Faults{SilentPct: 5, DuplicatePct: 20, ReorderPct: 20, MalformedPct: 20}, 5)
	want, got := analyse(t, plain.msgs, modelNow), analyse(t, faulty.msgs, modelNow)
	if len(got.valid) != len(want.valid) {
		t.Fatalf("%d sensors sent with faults, %d without", len(got.valid), len(want.valid))
	}
	for id, ws := range want.valid {
		seen := map[uint64]arrived{}
		for _, m := range got.valid[id] {
			seen[m.seq] = m
		}
		if len(seen) != len(ws) {
			t.Fatalf("%s: %d readings with faults, %d without", id, len(seen), len(ws))
		}
		for _, w := range ws {
			if g := seen[w.seq]; g.occupied != w.occupied || !g.ts.Equal(w.ts) {
				t.Fatalf("%s seq %d: %+v with faults, %+v without", id, w.seq, g, w)
			}
		}
	}
}

func sameStream(a, b []recorded) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].conn != b[i].conn || a[i].topic != b[i].topic || !bytes.Equal(a[i].payload, b[i].payload) {
			return false
		}
	}
	return true
}

func TestFaultsValidate(t *testing.T) {
	for _, f := range []Faults{{DuplicatePct: -1}, {ReorderPct: 101}, {MalformedPct: math.NaN()}} {
		if _, err := New(Options{BrokerURL: "tcp://x:1", Registry: testRegistry(t, 1), Faults: f}); err == nil {
			t.Errorf("New accepted faults %+v", f)
		}
	}
}
