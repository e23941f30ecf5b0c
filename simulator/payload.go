package simulator

import (
	"strconv"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// TopicPrefix and TopicSuffix enclose a sensor id in the topic of its
// messages: parking/v1/sensors/{sensor_id}/up.
const (
	TopicPrefix = "parking/v1/sensors/"
	TopicSuffix = "/up"
)

// Topic returns the topic a sensor publishes to.
func Topic(sensorID string) string { return TopicPrefix + sensorID + TopicSuffix }

// tsLayout is RFC 3339 with milliseconds; times are formatted in UTC, so the
// zone is always written "Z".
const tsLayout = "2006-01-02T15:04:05.000Z07:00"

// message is one reading in the contract's native format.
type message struct {
	occupied  bool
	ts        int64 // sensor time, Unix milliseconds
	seq       uint64
	kind      occupancy.ReadingKind
	batteryMV int
	tempDeci  int // temperature in tenths of a degree Celsius
}

// time returns the message's sensor time.
func (m *message) time() time.Time { return time.UnixMilli(m.ts).UTC() }

// appendPayload appends m's JSON encoding to b. It uses no reflection: the
// simulator encodes every message it sends.
func appendPayload(b []byte, m *message) []byte {
	b = append(b, `{"occupied":`...)
	b = strconv.AppendBool(b, m.occupied)
	b = append(b, `,"ts":"`...)
	b = m.time().AppendFormat(b, tsLayout)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, m.seq, 10)
	b = append(b, `,"kind":"`...)
	b = append(b, m.kind...)
	b = append(b, `","battery_mv":`...)
	b = strconv.AppendInt(b, int64(m.batteryMV), 10)
	b = append(b, `,"temp_c":`...)
	b = appendDeci(b, m.tempDeci)
	return append(b, '}')
}

// appendDeci appends v/10 with exactly one decimal.
func appendDeci(b []byte, v int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, int64(v/10), 10)
	return append(b, '.', byte('0'+v%10))
}

// encode returns m's payload in a new slice: the MQTT client keeps the slice
// until the broker acknowledges it, so payloads are never reused.
func encode(m *message) []byte { return appendPayload(make([]byte, 0, 128), m) }
