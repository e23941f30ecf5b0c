package simulator

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// sensor is one simulated sensor. The model fields belong to the goroutine
// that runs the simulation; truth is guarded by Simulator.mu.
type sensor struct {
	space    *occupancy.Space
	topic    string
	demand   *demand
	slot     int // position of the space's kind in occupancy.Kinds
	conn     int
	silent   bool
	occupied bool
	seq      uint64
	lastTS   int64   // Unix ms of the last message, so ts strictly increases
	stateTS  int64   // Unix ms of the last Nwave status frame: the previous state's start
	battery  float64 // mV, drains slowly
	tempOff  int     // this sensor's offset from the air temperature, tenths of °C
	held     *heldMsg
	truth    Expected
}

// heldMsg is a real message held back by the reorder fault.
type heldMsg struct {
	m       message
	payload []byte
}

// Shares of sensors with a low battery, and the jitter of heartbeat periods.
const (
	lowBatteryShare = 0.03
	heartbeatJitter = 0.05
)

// layout creates the sensors, picks the silent ones and schedules every
// other sensor's first message and first heartbeat. rng is used only here.
func (s *Simulator) layout(rng *rand.Rand) {
	spaces := s.opts.Registry.Spaces()
	demands := s.demands(rng)
	s.sensors = make([]sensor, len(spaces))
	for i := range spaces {
		sp := &spaces[i]
		sn := &s.sensors[i]
		slot := slices.Index(occupancy.Kinds, sp.Kind)
		*sn = sensor{space: sp, topic: topicOf(s.opts.Format, sp), demand: demands[sp.ZoneID].kinds[slot], slot: slot,
			conn: i % s.opts.Publishers, tempOff: rng.IntN(41) - 20,
			battery: 3450 + 200*rng.Float64(), truth: Expected{SensorID: sp.SensorID}}
		if rng.Float64() < lowBatteryShare {
			sn.battery = 2250 + 100*rng.Float64()
		}
	}
	order := rng.Perm(len(spaces))
	s.silent = int(math.Round(float64(len(spaces)) * s.opts.Faults.SilentPct / 100))
	for _, i := range order[:s.silent] {
		s.sensors[i].silent = true
	}
	s.scheduleStart(order[s.silent:], rng)
}

// demands returns the demand state of every zone, by zone id. Each zone
// gets a popularity factor of 0.85-1.10: a little noise between zones of
// the same profile.
func (s *Simulator) demands(rng *rand.Rand) map[string]*zoneState {
	out := make(map[string]*zoneState)
	for _, z := range s.opts.Registry.Zones() {
		zf := 0.85 + 0.25*rng.Float64()
		zs := &zoneState{}
		for i, k := range occupancy.Kinds {
			zs.kinds[i] = newDemand(z, k, zf, s.opts.Location, zs)
		}
		out[z.ID] = zs
	}
	return out
}

// scheduleStart spreads the first messages of the given sensors, in that
// order, evenly over StartupSpread, and their first heartbeats evenly over
// one Heartbeat period after that.
func (s *Simulator) scheduleStart(order []int, rng *rand.Rand) {
	n := float64(len(order))
	s.events = make(eventHeap, 0, 2*len(order))
	for rank, i := range order {
		f := (float64(rank) + rng.Float64()) / n
		first := int64(f * float64(s.opts.StartupSpread))
		s.events.push(event{at: first, sensor: int32(i), typ: evInitial})
		if s.opts.Heartbeat > 0 {
			hb := first + int64(f*float64(s.opts.Heartbeat))
			s.events.push(event{at: hb, sensor: int32(i), typ: evHeartbeat})
		}
	}
}

// virtual returns the demand model's time at wall offset at.
func (s *Simulator) virtual(at int64) time.Time {
	return s.opts.Start.Add(time.Duration(float64(at) * s.opts.Accel))
}

// after returns the wall offset a virtual duration d after wall offset at.
func (s *Simulator) after(at int64, d time.Duration) int64 {
	return at + int64(float64(d)/s.opts.Accel)
}

// handle runs one event: it updates the sensor's model, schedules its next
// event and sends what the sensor sends.
func (s *Simulator) handle(ctx context.Context, ev event) {
	sn := &s.sensors[ev.sensor]
	vt := s.virtual(ev.at)
	kind := occupancy.ReadingStatus
	switch ev.typ {
	case evInitial:
		sn.demand.zone.sensors[sn.slot]++
		s.setOccupied(sn, s.rng.Float64() < sn.demand.target(vt))
		if sn.occupied { // a car already parked: the rest of its stay
			s.schedule(ev, evDeparture, time.Duration(s.rng.Float64()*float64(sn.demand.drawDwell(vt, s.rng))))
		} else {
			s.scheduleArrival(ev, sn)
		}
	case evArrival:
		if s.rng.Float64()*sn.demand.maxRate >= sn.demand.hazard(vt) {
			s.scheduleArrival(ev, sn) // thinned: no arrival this time
			return
		}
		s.setOccupied(sn, true)
		s.schedule(ev, evDeparture, sn.demand.drawDwell(vt, s.rng))
	case evDeparture:
		s.setOccupied(sn, false)
		s.scheduleArrival(ev, sn)
	case evHeartbeat:
		kind = occupancy.ReadingHeartbeat
		jitter := 1 + heartbeatJitter*(2*s.rng.Float64()-1)
		s.events.push(event{at: ev.at + int64(jitter*float64(s.opts.Heartbeat)), sensor: ev.sensor, typ: evHeartbeat})
	}
	s.send(ctx, sn, s.reading(sn, vt, kind))
}

// setOccupied sets the sensor's model state and its zone's count.
func (s *Simulator) setOccupied(sn *sensor, occ bool) {
	switch {
	case occ && !sn.occupied:
		sn.demand.zone.occupied++
	case !occ && sn.occupied:
		sn.demand.zone.occupied--
	}
	sn.occupied = occ
}

// schedule queues the sensor's next event of type typ, a virtual duration d
// after ev.
func (s *Simulator) schedule(ev event, typ eventType, d time.Duration) {
	s.events.push(event{at: s.after(ev.at, d), sensor: ev.sensor, typ: typ})
}

// scheduleArrival queues a candidate arrival on a free space. Candidates
// come at the demand's maximum hazard and are thinned when they happen, which
// yields arrivals at the time-varying hazard.
func (s *Simulator) scheduleArrival(ev event, sn *sensor) {
	d := time.Duration(s.rng.ExpFloat64() / sn.demand.maxRate * float64(time.Second))
	s.schedule(ev, evArrival, d)
}

// reading builds the sensor's next message: the next seq, the wall clock as
// ts (strictly after its previous ts), its battery and temperature.
func (s *Simulator) reading(sn *sensor, vt time.Time, kind occupancy.ReadingKind) message {
	sn.seq++
	ts := s.opts.Now().UnixMilli()
	if ts <= sn.lastTS {
		ts = sn.lastTS + 1
	}
	sn.lastTS = ts
	sn.battery -= 0.02
	return message{occupied: sn.occupied, ts: ts, seq: sn.seq, kind: kind,
		batteryMV: int(sn.battery) + s.rng.IntN(7) - 3,
		tempDeci:  airTempDeci(vt.In(s.opts.Location)) + sn.tempOff + s.rng.IntN(5) - 2}
}

// airTempDeci is a mild daily temperature cycle, tenths of °C: 7 °C before
// dawn, 17 °C mid-afternoon.
func airTempDeci(t time.Time) int {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return int(math.Round(120 + 50*math.Sin(2*math.Pi*(h-9)/24)))
}
