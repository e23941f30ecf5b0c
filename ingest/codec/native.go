package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/qiuai/parking/occupancy"
)

// MaxPayload is the largest sensor message accepted, in bytes. A larger one
// is rejected before it is parsed.
const MaxPayload = 64 << 10

// Topic layout of the native sensor format: TopicPrefix + sensor id + TopicSuffix.
const (
	TopicPrefix = "parking/v1/sensors/"
	TopicSuffix = "/up"
)

// NativeFilter is the subscription filter matching every native sensor's
// uplink.
const NativeFilter = TopicPrefix + "+" + TopicSuffix

// Topic returns the topic a native sensor publishes to.
func Topic(sensorID string) string { return TopicPrefix + sensorID + TopicSuffix }

// wireReading is the JSON payload. Each field keeps the raw JSON value (a
// sub-slice of the payload, no copy), so that a missing field, a null and a
// value of the wrong type each get their own message, and nothing is
// allocated for the fields themselves.
type wireReading struct {
	Occupied  rawField `json:"occupied"`
	TS        rawField `json:"ts"`
	Seq       rawField `json:"seq"`
	Kind      rawField `json:"kind"`
	BatteryMV rawField `json:"battery_mv"`
	TempC     rawField `json:"temp_c"`
}

// rawField is a JSON value as it appears in the payload; nil when the field
// is absent. encoding/json calls UnmarshalJSON for null too, so a present
// null is the non-nil "null".
type rawField []byte

// UnmarshalJSON keeps b. b points into the payload, which outlives the
// field: the field is read before DecodeNative returns.
func (f *rawField) UnmarshalJSON(b []byte) error {
	*f = b
	return nil
}

// null reports whether the field is absent or null.
func (f rawField) null() bool { return f == nil || string(f) == "null" }

// DecodeNative parses a message of the native sensor format: the sensor id
// comes from the topic, the rest from the JSON payload. Unknown fields are
// ignored. It checks the format only; the caller checks the ranges with
// Reading.Validate. Every error is EINVALID and its message says what is
// wrong.
func DecodeNative(topic string, payload []byte) (occupancy.Reading, error) {
	var r occupancy.Reading
	id, err := SensorID(topic)
	if err != nil {
		return r, err
	}
	if err := checkPayload(payload); err != nil {
		return r, err
	}
	var w wireReading
	if err := json.Unmarshal(payload, &w); err != nil {
		return r, jsonError(err)
	}
	r.SensorID = id
	if err := w.fill(&r); err != nil {
		return occupancy.Reading{}, err
	}
	return r, nil
}

// SensorID returns the sensor id of a topic parking/v1/sensors/{id}/up.
// EINVALID if the topic has another shape.
func SensorID(topic string) (string, error) {
	id, ok := strings.CutPrefix(topic, TopicPrefix)
	if ok {
		id, ok = strings.CutSuffix(id, TopicSuffix)
	}
	if !ok || id == "" || strings.IndexByte(id, '/') >= 0 {
		return "", occupancy.Errorf(occupancy.EINVALID, "topic %q is not %s{sensor_id}%s",
			clip(topic, 200), TopicPrefix, TopicSuffix)
	}
	return id, nil
}

// checkPayload rejects an oversized payload and one that is not an object.
func checkPayload(p []byte) error {
	if len(p) > MaxPayload {
		return occupancy.Errorf(occupancy.EINVALID, "payload is %d bytes, over the %d-byte limit", len(p), MaxPayload)
	}
	t := bytes.TrimLeft(p, " \t\r\n")
	if len(t) == 0 {
		return occupancy.Errorf(occupancy.EINVALID, "payload is empty")
	}
	if t[0] != '{' {
		// Valid JSON of another type, or not JSON at all: tell them apart.
		if json.Valid(p) {
			return occupancy.Errorf(occupancy.EINVALID, "payload must be a JSON object")
		}
		return jsonError(json.Unmarshal(p, new(struct{})))
	}
	return nil
}

// jsonError turns an encoding/json error into an EINVALID error.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return occupancy.Errorf(occupancy.EINVALID, "payload is not valid JSON: %s at byte %d", se.Error(), se.Offset)
	}
	return occupancy.Errorf(occupancy.EINVALID, "payload is not valid JSON: %s", err.Error())
}
