package codec

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// fill parses the fields into r, required ones first.
func (w *wireReading) fill(r *occupancy.Reading) error {
	var err error
	if r.Occupied, err = parseOccupied(w.Occupied); err != nil {
		return err
	}
	if r.TS, err = parseTS(w.TS); err != nil {
		return err
	}
	if r.Seq, err = parseSeq(w.Seq); err != nil {
		return err
	}
	if r.Kind, err = parseKind(w.Kind); err != nil {
		return err
	}
	if r.BatteryMV, err = parseBattery(w.BatteryMV); err != nil {
		return err
	}
	r.TempC, err = parseTempC(w.TempC)
	return err
}

// parseOccupied parses the required "occupied".
func parseOccupied(f rawField) (bool, error) {
	switch string(f) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "":
		return false, occupancy.Errorf(occupancy.EINVALID, `"occupied" is required`)
	}
	return false, occupancy.Errorf(occupancy.EINVALID, `"occupied" must be true or false, not %s`, clip(string(f), 40))
}

// parseTS parses the required "ts": an RFC 3339 time of any precision.
func parseTS(f rawField) (time.Time, error) {
	if f == nil {
		return time.Time{}, occupancy.Errorf(occupancy.EINVALID, `"ts" is required`)
	}
	s, ok := jsonString(f)
	if !ok {
		return time.Time{}, occupancy.Errorf(occupancy.EINVALID, `"ts" must be an RFC 3339 time string, not %s`, clip(string(f), 40))
	}
	// Parsing with RFC3339 accepts a fractional second of any length.
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, occupancy.Errorf(occupancy.EINVALID,
			`"ts" %q is not an RFC 3339 time like 2026-11-25T08:00:00.123Z`, clip(s, 40))
	}
	return t.UTC(), nil
}

// parseSeq parses the optional "seq": a non-negative integer.
func parseSeq(f rawField) (uint64, error) {
	if f.null() {
		return 0, nil
	}
	n, ok := parseUint(f)
	if !ok {
		return 0, occupancy.Errorf(occupancy.EINVALID, `"seq" must be a non-negative integer, not %s`, clip(string(f), 40))
	}
	if n > maxSeq {
		return 0, occupancy.Errorf(occupancy.EINVALID, `"seq" %s is above 2^53`, clip(string(f), 40))
	}
	return n, nil
}

// parseKind parses the optional "kind". Its value is checked by Validate;
// the two known kinds are matched without allocating.
func parseKind(f rawField) (occupancy.ReadingKind, error) {
	switch string(f) {
	case `"status"`:
		return occupancy.ReadingStatus, nil
	case `"heartbeat"`:
		return occupancy.ReadingHeartbeat, nil
	}
	if f.null() {
		return "", nil
	}
	s, ok := jsonString(f)
	if !ok {
		return "", occupancy.Errorf(occupancy.EINVALID, `"kind" must be a string (status or heartbeat), not %s`, clip(string(f), 40))
	}
	if s == "" {
		return "", occupancy.Errorf(occupancy.EINVALID, `"kind" is empty; use status or heartbeat`)
	}
	return occupancy.ReadingKind(clip(s, 40)), nil
}

// parseBattery parses the optional "battery_mv": an integer.
func parseBattery(f rawField) (int, error) {
	if f.null() {
		return 0, nil
	}
	neg := len(f) > 0 && f[0] == '-'
	digits := f
	if neg {
		digits = f[1:]
	}
	n, ok := parseUint(digits)
	if !ok {
		return 0, occupancy.Errorf(occupancy.EINVALID, `"battery_mv" must be an integer (millivolts), not %s`, clip(string(f), 40))
	}
	if n > math.MaxInt32 {
		return 0, occupancy.Errorf(occupancy.EINVALID, `"battery_mv" %s is out of range`, clip(string(f), 40))
	}
	if neg {
		return -int(n), nil
	}
	return int(n), nil
}

// parseTempC parses the optional "temp_c": a number.
func parseTempC(f rawField) (*float64, error) {
	if f.null() {
		return nil, nil
	}
	if c := f[0]; c != '-' && (c < '0' || c > '9') {
		return nil, occupancy.Errorf(occupancy.EINVALID, `"temp_c" must be a number, not %s`, clip(string(f), 40))
	}
	// The JSON scanner has already checked f is a valid number.
	v, err := strconv.ParseFloat(string(f), 64)
	if err != nil {
		return nil, occupancy.Errorf(occupancy.EINVALID, `"temp_c" %s is out of range`, clip(string(f), 40))
	}
	return &v, nil
}

// maxSeq is the largest seq accepted: JSON numbers are exact up to 2^53.
const maxSeq = 1 << 53

// parseUint parses a JSON integer made of decimal digits only, failing on
// a sign, a fraction or an exponent. A value too large for uint64 gives
// math.MaxUint64.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxUint64-9)/10 {
			n = math.MaxUint64 // saturate; keep checking the digits
			continue
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// jsonString returns the value of a JSON string token, or false if f is
// not a string.
func jsonString(f rawField) (string, bool) {
	if len(f) < 2 || f[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(f, '\\') < 0 {
		return string(f[1 : len(f)-1]), true
	}
	var s string // escapes: rare, let encoding/json undo them
	if err := json.Unmarshal(f, &s); err != nil {
		return "", false
	}
	return s, true
}

// clip shortens s to at most n bytes for an error message, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
