package codec

import (
	"fmt"

	"github.com/qiuai/parking/occupancy"
)

// Decoder turns one MQTT message into a reading. Errors are EINVALID, or
// an *UnknownSensorError for a sensor the registry lacks.
type Decoder func(topic string, payload []byte) (occupancy.Reading, error)

// UnknownSensorError is the error of a message from a sensor the registry
// does not list. It is not an *occupancy.Error: the message is well formed.
type UnknownSensorError struct{ SensorID string }

// Error implements error.
func (e *UnknownSensorError) Error() string {
	return fmt.Sprintf("sensor %q is not in the registry", e.SensorID)
}

// LoRaWANDecoder returns a Decoder for uplinks in envelope env. The DevEUI
// is looked up in reg: an unknown one is an unknown sensor; a space whose
// model is not LoRaWAN, a frame on an unknown port or of the wrong length is
// invalid. The raw frame bytes are decoded by the space's model; a network
// server's own decoded object is never used. The reading's time is the
// network server's receive time and its sequence the frame counter, so a
// counter reset by a rejoin orders after everything received before it.
func LoRaWANDecoder(env Envelope, reg *occupancy.Registry) Decoder {
	return func(topic string, payload []byte) (occupancy.Reading, error) {
		up, err := env(topic, payload)
		if err != nil {
			return occupancy.Reading{}, err
		}
		sp, ok := reg.SpaceBySensor(up.DevEUI)
		if !ok {
			return occupancy.Reading{}, &UnknownSensorError{SensorID: up.DevEUI}
		}
		fc, ok := FrameCodecFor(sp.Model)
		if !ok {
			return occupancy.Reading{}, errorf("sensor %s of space %s is a native sensor, not a LoRaWAN device", up.DevEUI, sp.ID)
		}
		f, err := fc.Decode(up.FPort, up.Payload)
		if err != nil {
			return occupancy.Reading{}, err
		}
		return up.Reading(sp.SensorID, f), nil
	}
}

// Reading combines the uplink and its decoded frame into the reading of
// sensor sensorID: the receive time as TS, the frame counter as Seq, a
// heartbeat frame a heartbeat reading and the others status readings.
func (up *Uplink) Reading(sensorID string, f Frame) occupancy.Reading {
	kind := occupancy.ReadingStatus
	if f.Kind == FrameHeartbeat {
		kind = occupancy.ReadingHeartbeat
	}
	return occupancy.Reading{
		SensorID: sensorID, Occupied: f.Occupied, TS: up.ReceivedAt, Seq: uint64(up.FCnt), Kind: kind,
		BatteryMV: f.BatteryMV, TempC: f.TempC, Firmware: f.Firmware, ResetCause: f.ResetCause,
		RSSI: up.RSSI, SNR: up.SNR,
	}
}
