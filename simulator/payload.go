package simulator

import (
	"time"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// TopicPrefix and TopicSuffix enclose a sensor id in the topic of its
// messages: parking/v1/sensors/{sensor_id}/up.
const (
	TopicPrefix = codec.TopicPrefix
	TopicSuffix = codec.TopicSuffix
)

// Topic returns the topic a sensor publishes to.
func Topic(sensorID string) string { return codec.Topic(sensorID) }

// message is one reading as the simulator models it: millisecond sensor
// times (as the sensors send them) and tenths of a degree.
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

// tempC returns the message's temperature in degrees Celsius.
func (m *message) tempC() float64 { return float64(m.tempDeci) / 10 }

// reading returns m as the reading of no sensor in particular (the native
// format carries the sensor id in the topic). Its temperature is *temp,
// set to m's: a variable of the caller's, so that encoding a message
// allocates nothing but its payload.
func (m *message) reading(temp *float64) occupancy.Reading {
	*temp = m.tempC()
	return occupancy.Reading{Occupied: m.occupied, TS: m.time(), Seq: m.seq, Kind: m.kind,
		BatteryMV: m.batteryMV, TempC: temp}
}

// encode returns m's native payload in a new slice: the MQTT client keeps
// the slice until the broker acknowledges it, so payloads are never reused.
func encode(m *message) []byte {
	var temp float64
	return codec.EncodeNative(m.reading(&temp))
}
