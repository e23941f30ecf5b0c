package simulator

import (
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what a Simulator did so far.
type Stats struct {
	Sensors    int     // simulated sensors, silent ones included
	Silent     int     // sensors that never send
	Readings   uint64  // real readings generated: status changes and heartbeats
	Heartbeats uint64  // of which heartbeats
	Sent       uint64  // messages handed to the broker: readings, duplicates, garbage
	Acked      uint64  // messages the broker acknowledged (PUBACK)
	Errors     uint64  // messages never acknowledged: the run gave up on them
	Retries    uint64  // publishes of a message again after its publish failed
	Duplicates uint64  // extra copies published by the duplicate fault
	Reordered  uint64  // readings the reorder fault published after a newer one
	Malformed  uint64  // garbage messages published
	Rate       float64 // messages sent per second, over the last second
	Known      int     // spaces whose sensor has sent a reading
	Occupied   int     // of which the newest reading says occupied
	Elapsed    time.Duration
	Virtual    time.Time // the demand model's clock
}

// counters are the simulator's own counts; the publisher counts the rest.
type counters struct {
	readings, heartbeats, duplicates, reordered, malformed atomic.Uint64
	rate                                                   atomic.Uint64 // math.Float64bits of msg/s
	started                                                atomic.Pointer[time.Time]
}

// Stats returns a snapshot of the counters. Safe to call at any time.
func (s *Simulator) Stats() Stats {
	st := Stats{
		Sensors: len(s.sensors), Silent: s.silent,
		Readings: s.count.readings.Load(), Heartbeats: s.count.heartbeats.Load(),
		Sent: s.pubs.sent.Load(), Acked: s.pubs.acked.Load(), Errors: s.pubs.errors.Load(), Retries: s.pubs.retries.Load(),
		Duplicates: s.count.duplicates.Load(), Reordered: s.count.reordered.Load(),
		Malformed: s.count.malformed.Load(), Rate: math.Float64frombits(s.count.rate.Load()),
		Virtual: s.opts.Start.In(s.opts.Location),
	}
	if t := s.count.started.Load(); t != nil {
		st.Elapsed = time.Since(*t)
		st.Virtual = s.virtual(int64(st.Elapsed)).In(s.opts.Location)
	}
	s.mu.Lock()
	st.Known, st.Occupied = s.known, s.occupied
	s.mu.Unlock()
	return st
}

// String formats the stats as one progress line, without a newline.
func (st Stats) String() string {
	occ := 0.0
	if st.Known > 0 {
		occ = 100 * float64(st.Occupied) / float64(st.Known)
	}
	return fmt.Sprintf("%5.0f msg/s  sent %d  acked %d  errors %d  occupied %.1f%% of %d known  virtual %s",
		st.Rate, st.Sent, st.Acked, st.Errors, occ, st.Known, st.Virtual.Format("Mon 15:04"))
}

// Summary formats the final counts of a run on one line.
func (st Stats) Summary() string {
	return fmt.Sprintf("sensors %d (silent %d)  readings %d (heartbeats %d)  sent %d  acked %d  errors %d"+
		"  retries %d  duplicates %d  reordered %d  malformed %d  elapsed %s",
		st.Sensors, st.Silent, st.Readings, st.Heartbeats, st.Sent, st.Acked, st.Errors, st.Retries,
		st.Duplicates, st.Reordered, st.Malformed, st.Elapsed.Round(time.Millisecond))
}

// meter updates the rate every second and writes a progress line to w (if
// not nil) every interval, until stop is closed; it then writes a last line
// and closes done.
func (s *Simulator) meter(w io.Writer, interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev, prevAt, lastLine := s.pubs.sent.Load(), time.Now(), time.Now()
	for {
		select {
		case <-stop:
			if w != nil {
				fmt.Fprintln(w, s.Stats().String())
			}
			return
		case now := <-tick.C:
			sent := s.pubs.sent.Load()
			rate := float64(sent-prev) / now.Sub(prevAt).Seconds()
			s.count.rate.Store(math.Float64bits(rate))
			prev, prevAt = sent, now
			if w != nil && now.Sub(lastLine) >= interval-time.Millisecond*50 {
				fmt.Fprintln(w, s.Stats().String())
				lastLine = now
			}
		}
	}
}
