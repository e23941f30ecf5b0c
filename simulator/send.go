package simulator

import (
	"context"
	"sort"

	"github.com/qiuai/parking/occupancy"
)

// send publishes one real reading of sn with the faults that hit it: it may
// be held back (reorder), or release a message held earlier after itself,
// be published twice, and be followed by a garbage message.
func (s *Simulator) send(ctx context.Context, sn *sensor, m message) {
	payload := s.encodeFor(sn, &m)
	s.count.readings.Add(1)
	if m.kind == occupancy.ReadingHeartbeat {
		s.count.heartbeats.Add(1)
	}
	if sn.held == nil && s.faults.reorder() {
		sn.held = &heldMsg{m: m, payload: payload}
	} else {
		s.publishReading(ctx, sn, &m, payload)
		if h := sn.held; h != nil {
			sn.held = nil
			s.publishReading(ctx, sn, &h.m, h.payload)
			s.count.reordered.Add(1)
		}
	}
	if g := s.faults.garbage(&m); g != nil {
		if s.out.publish(ctx, sn.conn, sn.topic, g) == nil {
			s.count.malformed.Add(1)
		}
	}
}

// publishReading publishes a real reading, and again if the duplicate fault
// hits it, and records it in the truth if it is the sensor's newest.
func (s *Simulator) publishReading(ctx context.Context, sn *sensor, m *message, payload []byte) {
	if s.out.publish(ctx, sn.conn, sn.topic, payload) != nil {
		return
	}
	s.record(sn, m)
	if s.faults.duplicate() && s.out.publish(ctx, sn.conn, sn.topic, payload) == nil {
		s.count.duplicates.Add(1)
	}
}

// record makes m the sensor's truth if it is newer than what was sent before.
func (s *Simulator) record(sn *sensor, m *message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &sn.truth
	if !t.newer(m.seq) {
		return
	}
	if !t.Sent {
		s.known++
	}
	if t.Sent && t.Occupied {
		s.occupied--
	}
	if m.occupied {
		s.occupied++
	}
	t.Sent, t.Occupied, t.TS, t.Seq = true, m.occupied, m.time(), m.seq
}

// flush publishes every message still held by the reorder fault, in sensor
// order. They are the newest of their sensors, so they do not count as
// reordered.
func (s *Simulator) flush(ctx context.Context) {
	for i := range s.sensors {
		sn := &s.sensors[i]
		if h := sn.held; h != nil {
			sn.held = nil
			s.publishReading(ctx, sn, &h.m, h.payload)
		}
	}
}

// Truth returns, for every space id, the newest reading its sensor sent, or
// that it sent none. After Run returns, it is what the service must show.
func (s *Simulator) Truth() map[string]Expected {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Expected, len(s.sensors))
	for i := range s.sensors {
		out[s.sensors[i].space.ID] = s.sensors[i].truth
	}
	return out
}

// SilentSpaces returns the ids of the spaces whose sensors the silent fault
// keeps quiet, sorted.
func (s *Simulator) SilentSpaces() []string {
	var ids []string
	for i := range s.sensors {
		if s.sensors[i].silent {
			ids = append(ids, s.sensors[i].space.ID)
		}
	}
	sort.Strings(ids)
	return ids
}
