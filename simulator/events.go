package simulator

// eventType is what happens to a sensor at an event.
type eventType uint8

// Event types.
const (
	evInitial   eventType = iota // first message: initial occupancy drawn from the curve
	evArrival                    // candidate arrival on a free space (thinned)
	evDeparture                  // the parked car leaves
	evHeartbeat                  // periodic heartbeat
)

// event is one scheduled step of one sensor. at is the wall-clock offset from
// the start of the run, in nanoseconds.
type event struct {
	at     int64
	sensor int32
	typ    eventType
}

// before orders events by time, then sensor, then type, so that the order
// never depends on how the heap was built.
func (e event) before(o event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	if e.sensor != o.sensor {
		return e.sensor < o.sensor
	}
	return e.typ < o.typ
}

// eventHeap is a binary min-heap of events. It avoids container/heap's
// interface calls: the simulator pops an event for every message.
type eventHeap []event

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].before(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

// peek returns the earliest event; the heap must not be empty.
func (h eventHeap) peek() event { return h[0] }

func (h *eventHeap) pop() event {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r].before(s[l]) {
			m = r
		}
		if !s[m].before(s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
