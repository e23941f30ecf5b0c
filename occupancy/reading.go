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

// Validate checks r against the contract; now is the receive time. It returns
// an EINVALID error naming the first bad field.
func (r *Reading) Validate(now time.Time) error {
	switch {
	case r.SensorID == "":
		return Errorf(EINVALID, "sensor id is empty")
	case len(r.SensorID) > 64:
		return Errorf(EINVALID, "sensor id is longer than 64 bytes")
	case r.TS.IsZero():
		return Errorf(EINVALID, "ts is required")
	case r.TS.Year() < 2000:
		return Errorf(EINVALID, "ts %s is before the year 2000", r.TS.Format(time.RFC3339))
	case r.TS.After(now.Add(MaxClockSkew)):
		return Errorf(EINVALID, "ts %s is more than %s ahead of the receive time %s",
			r.TS.Format(time.RFC3339Nano), MaxClockSkew, now.UTC().Format(time.RFC3339))
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
)

// Results lists every result, in a stable order.
var Results = []Result{ResultApplied, ResultDuplicate, ResultStale, ResultInvalid, ResultUnknownSensor}
