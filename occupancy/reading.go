package occupancy

import (
	"math"
	"strings"
	"time"
)

// ReadingKind tells a state change from a periodic heartbeat. Both carry the
// current occupancy.
type ReadingKind string

// Reading kinds. The empty kind means ReadingStatus.
const (
	ReadingStatus    ReadingKind = "status"
	ReadingHeartbeat ReadingKind = "heartbeat"
)

// Reading is one message from a sensor, already decoded from its transport
// format.
type Reading struct {
	SensorID  string
	Occupied  bool
	TS        time.Time // sensor time; orders readings of one sensor
	Seq       uint64    // per-sensor counter; breaks ties of TS
	Kind      ReadingKind
	BatteryMV int      // 0: not reported
	TempC     *float64 // nil: not reported
	// Firmware is the sensor's firmware version ("" : not reported); only
	// start-up messages carry it.
	Firmware string
	// ResetCause is why the sensor last restarted ("": not reported); only
	// start-up messages carry it. One of the ResetCause* values, or
	// "code_N" for a code the model does not document.
	ResetCause string
	RSSI       *int     // dBm at the best gateway; nil: not reported
	SNR        *float64 // dB at the best gateway; nil: not reported
}

// Reset causes reported by start-up messages.
const (
	ResetWatchdog      = "watchdog"
	ResetPowerOn       = "power_on"
	ResetSystemRequest = "system_request"
	ResetOther         = "other"
)

// MaxClockSkew is how far in the future a reading's sensor time may be. A
// sensor whose clock runs ahead would otherwise make every later, correct
// reading look stale.
const MaxClockSkew = 5 * time.Minute

// DefaultMaxReadingAge is how far before its receive time a reading's
// sensor time may be by default (the ingest's MaxReadingAge). An older one
// comes from a clock that went wrong (a sensor restarted at its epoch), or
// waited so long on the way that its occupancy means nothing now.
const DefaultMaxReadingAge = 24 * time.Hour

// Validate checks r against the contract; now is the receive time. It
// returns an EINVALID error naming the first bad field, or a *ClockError
// when the fields are good but the sensor time is outside the bounds of
// CheckClock with DefaultMaxReadingAge.
func (r *Reading) Validate(now time.Time) error {
	if err := r.ValidateFields(); err != nil {
		return err
	}
	return r.CheckClock(now, DefaultMaxReadingAge)
}

// ValidateFields checks r against the contract, its sensor time only for
// being present: an EINVALID error naming the first bad field.
func (r *Reading) ValidateFields() error {
	switch {
	case r.SensorID == "":
		return Errorf(EINVALID, "sensor id is empty")
	case len(r.SensorID) > 64:
		return Errorf(EINVALID, "sensor id is longer than 64 bytes")
	case r.TS.IsZero():
		return Errorf(EINVALID, "ts is required")
	case r.Kind != "" && r.Kind != ReadingStatus && r.Kind != ReadingHeartbeat:
		return Errorf(EINVALID, "kind %q is not status or heartbeat", r.Kind)
	case r.BatteryMV < 0 || r.BatteryMV > 10000:
		return Errorf(EINVALID, "battery_mv %d is out of range 0-10000", r.BatteryMV)
	case r.TempC != nil && (math.IsNaN(*r.TempC) || *r.TempC < -60 || *r.TempC > 100):
		return Errorf(EINVALID, "temp_c is out of range -60..100")
	case len(r.Firmware) > 32 || strings.ContainsAny(r.Firmware, "|\x00"):
		return Errorf(EINVALID, "firmware %q is longer than 32 bytes or holds '|'", r.Firmware)
	case len(r.ResetCause) > 32 || strings.ContainsAny(r.ResetCause, "|\x00"):
		return Errorf(EINVALID, "reset cause %q is longer than 32 bytes or holds '|'", r.ResetCause)
	case r.RSSI != nil && (*r.RSSI < -200 || *r.RSSI > 50):
		return Errorf(EINVALID, "rssi %d is out of range -200..50", *r.RSSI)
	case r.SNR != nil && (math.IsNaN(*r.SNR) || *r.SNR < -50 || *r.SNR > 50):
		return Errorf(EINVALID, "snr is out of range -50..50")
	case r.Seq > 1<<53:
		return Errorf(EINVALID, "seq %d is above 2^53", r.Seq)
	}
	return nil
}

// CheckClock returns a *ClockError when r's sensor time is more than
// maxAge before now (its receive time) or more than MaxClockSkew after it:
// the sensor's clock is wrong, so its reading cannot be ordered against the
// others and is not applied, though it shows the sensor is alive.
func (r *Reading) CheckClock(now time.Time, maxAge time.Duration) error {
	if r.TS.Before(now.Add(-maxAge)) || r.TS.After(now.Add(MaxClockSkew)) {
		return &ClockError{Clock: SensorClock{TS: r.TS, ReceivedAt: now}, MaxAge: maxAge}
	}
	return nil
}

// SensorClock is a sensor's clock as one of its readings showed it: the
// reading's sensor time and when it was received.
type SensorClock struct {
	TS         time.Time
	ReceivedAt time.Time
}

// Offset is how far the sensor's clock was ahead of the receive time
// (negative: behind).
func (c SensorClock) Offset() time.Duration { return c.TS.Sub(c.ReceivedAt) }

// String says it in words, e.g. "sensor time 2001-01-01T00:00:00Z, 218453h
// behind the receive time 2025-12-01T08:00:00Z".
func (c SensorClock) String() string {
	off, dir := c.Offset(), "ahead of"
	if off < 0 {
		off, dir = -off, "behind"
	}
	return "sensor time " + c.TS.UTC().Format(time.RFC3339Nano) + ", " + off.Round(time.Second).String() + " " + dir +
		" the receive time " + c.ReceivedAt.UTC().Format(time.RFC3339)
}

// ClockError rejects a reading whose sensor time is too far from its
// receive time (Reading.CheckClock). It is not an *Error: the message is
// well formed, its sensor's clock is wrong.
type ClockError struct {
	Clock  SensorClock
	MaxAge time.Duration // the bound in the past that applied
}

// Error implements error.
func (e *ClockError) Error() string {
	bound := "more than " + MaxClockSkew.String() + " ahead"
	if e.Clock.Offset() < 0 {
		bound = "more than " + e.MaxAge.String() + " behind"
	}
	return "sensor clock is wrong: " + e.Clock.String() + " (" + bound + ")"
}

// Result is what applying a reading did. Its values are the result label of
// the ingest counter.
type Result string

// Results of handling one message.
const (
	ResultApplied       Result = "applied"        // newer than anything stored: state updated
	ResultDuplicate     Result = "duplicate"      // same ts and seq as the newest stored
	ResultStale         Result = "stale"          // older than the newest stored
	ResultInvalid       Result = "invalid"        // malformed or out of contract
	ResultUnknownSensor Result = "unknown_sensor" // sensor not in the registry
	ResultClock         Result = "clock"          // sensor time too far from the receive time (ClockError)
	ResultRetained      Result = "retained"       // a retained message the broker replayed
)

// Results lists every result, in a stable order.
var Results = []Result{ResultApplied, ResultDuplicate, ResultStale, ResultInvalid, ResultUnknownSensor,
	ResultClock, ResultRetained}
