package ingest

import (
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// onMessage is paho's handler for every message. With OrderMatters true
// paho calls it on its router goroutine, in the order of arrival, and reads
// nothing more from the connection while it runs. So while the queue is
// full, waiting for room holds paho back and TCP pushes back to the broker,
// which keeps the rest: what parkd holds is bounded by the queue and the
// workers, however fast messages come (the broker's in-flight window does
// not bound it once acknowledgements flow).
//
// Waiting must not last, though: paho reads PINGRESP on the same goroutine
// and drops the connection when one is late. If the queue has no room for
// StallAfter, the workers are stuck (the store is down): the message then
// waits on a goroutine of its own, and so do the next ones until a worker
// finishes a message. While the workers are stuck nothing is acknowledged,
// so the broker's in-flight window (max_inflight_messages) bounds those
// goroutines. During shutdown the message is left unacknowledged.
func (s *Subscriber) onMessage(_ mqtt.Client, m mqtt.Message) {
	s.received.Add(1)
	select {
	case <-s.stop:
		return
	case s.queue <- m:
		return
	default:
	}
	if s.stalled.Load() {
		s.spill(m)
		return
	}
	t := time.NewTimer(s.opts.StallAfter)
	defer t.Stop()
	select {
	case s.queue <- m:
	case <-s.stop:
	case <-t.C:
		s.stalled.Store(true)
		s.stallLog.Log("workers stuck: the queue has had no room for "+s.opts.StallAfter.String()+"; holding new messages aside until one finishes",
			"queue", s.opts.QueueSize, "aside", s.spilled.Load())
		s.spill(m)
	}
}

// spill waits for room in the queue on a goroutine of its own.
func (s *Subscriber) spill(m mqtt.Message) {
	s.spilled.Add(1)
	go func() {
		defer s.spilled.Add(-1)
		select {
		case s.queue <- m:
		case <-s.stop:
		}
	}()
}

// progressed notes that a worker finished: the workers are not stuck.
func (s *Subscriber) progressed() {
	if s.stalled.Load() {
		s.stalled.Store(false)
	}
}
