package codec

import (
	"strconv"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Layouts of the native "ts": milliseconds when the time has no finer part,
// as sensors send it, else nanoseconds. Times are written in UTC ("Z").
const (
	tsMillis = "2006-01-02T15:04:05.000Z07:00"
	tsNanos  = "2006-01-02T15:04:05.000000000Z07:00"
)

// EncodeNative returns r as a native sensor sends it, in a new slice (an MQTT
// client keeps a payload until the broker acknowledges it, so a payload must
// not be reused). See AppendNative.
func EncodeNative(r occupancy.Reading) []byte { return AppendNative(make([]byte, 0, 128), r) }

// AppendNative appends r as a native message payload to b: "occupied", "ts"
// and "seq" always, then "kind", "battery_mv" and "temp_c" unless r leaves
// them out (empty, 0, nil). r must be valid (Reading.Validate): a NaN
// temperature, say, is not JSON. The sensor id goes in the topic (Topic),
// and r's LoRaWAN fields (firmware, radio) have no place in this format.
// DecodeNative of the result gives r back.
func AppendNative(b []byte, r occupancy.Reading) []byte {
	b = append(b, `{"occupied":`...)
	b = strconv.AppendBool(b, r.Occupied)
	b = append(b, `,"ts":"`...)
	b = AppendTS(b, r.TS)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	if r.Kind != "" {
		b = append(b, `,"kind":"`...)
		b = append(b, r.Kind...)
		b = append(b, '"')
	}
	if r.BatteryMV != 0 {
		b = append(b, `,"battery_mv":`...)
		b = strconv.AppendInt(b, int64(r.BatteryMV), 10)
	}
	if r.TempC != nil {
		b = append(b, `,"temp_c":`...)
		b = appendDecimal(b, *r.TempC)
	}
	return append(b, '}')
}

// AppendTS appends t as the text of a native message's "ts" (without the
// quotes): RFC 3339 in UTC with milliseconds, or nanoseconds if t has a
// finer part.
func AppendTS(b []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.AppendFormat(b, tsMillis)
	}
	return t.AppendFormat(b, tsNanos)
}

// appendDecimal appends v as a JSON number with at least one decimal (21.0,
// not 21), as the sensors and network servers write measurements.
func appendDecimal(b []byte, v float64) []byte {
	n := len(b)
	b = strconv.AppendFloat(b, v, 'f', -1, 64)
	for _, c := range b[n:] {
		if c == '.' {
			return b
		}
	}
	return append(b, '.', '0')
}
