package ingest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Default subscription filters of the LoRaWAN network servers' uplinks.
const (
	DefaultTTSTopic        = "v3/+/devices/+/up"
	DefaultChirpStackTopic = "application/+/device/+/event/up"
)

// Uplink is one LoRaWAN uplink as a network server publishes it, reduced to
// what parkd uses.
type Uplink struct {
	DevEUI     string    // 16 lower-case hex digits
	ReceivedAt time.Time // the network server's receive time, UTC
	FCnt       uint32    // frame counter; 0 when absent
	FPort      int       // 0 when absent (a MAC-only frame)
	Payload    []byte    // the raw frame bytes (FRMPayload), decrypted
	RSSI       *int      // dBm at the best gateway; nil without rx metadata
	SNR        *float64  // dB at the best gateway; nil without rx metadata
}

// Envelope parses a network server's uplink message. Every error is
// EINVALID.
type Envelope func(topic string, payload []byte) (Uplink, error)

// Decoder turns one MQTT message into a reading. Errors are EINVALID, or
// an unknown-sensor error for a sensor the registry lacks.
type Decoder func(topic string, payload []byte) (occupancy.Reading, error)

// Route sends the messages of one subscription filter to its decoder.
type Route struct {
	// Topic is the subscription filter, e.g. DefaultTTSTopic.
	Topic string
	// Decode decodes the messages; nil means Decode (the native format).
	Decode Decoder
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
			return occupancy.Reading{}, &errUnknownSensor{id: up.DevEUI}
		}
		dec, ok := FrameDecoderFor(sp.Model)
		if !ok {
			return occupancy.Reading{}, occupancy.Errorf(occupancy.EINVALID,
				"sensor %s of space %s is a native sensor, not a LoRaWAN device", up.DevEUI, sp.ID)
		}
		f, err := dec(up.FPort, up.Payload)
		if err != nil {
			return occupancy.Reading{}, err
		}
		return up.reading(sp.SensorID, f), nil
	}
}

// reading combines the uplink and its decoded frame.
func (up *Uplink) reading(sensorID string, f Frame) occupancy.Reading {
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

// gateway is one gateway's reception of an uplink. Absent numbers are 0:
// The Things Stack leaves zero fields out.
type gateway struct {
	RSSI float64 `json:"rssi"`
	SNR  float64 `json:"snr"`
}

// bestGateway returns the RSSI and SNR of the strongest reception (highest
// RSSI, then highest SNR), or nils when there is none.
func bestGateway(gws []gateway) (*int, *float64) {
	if len(gws) == 0 {
		return nil, nil
	}
	best := gws[0]
	for _, g := range gws[1:] {
		if g.RSSI > best.RSSI || g.RSSI == best.RSSI && g.SNR > best.SNR {
			best = g
		}
	}
	rssi, snr := int(best.RSSI), best.SNR
	if best.RSSI < -200 || best.RSSI > 50 {
		return nil, plausibleSNR(snr)
	}
	return &rssi, plausibleSNR(snr)
}

// plausibleSNR returns &s if it is a plausible SNR, else nil.
func plausibleSNR(s float64) *float64 {
	if s < -50 || s > 50 {
		return nil
	}
	return &s
}

// parseDevEUI checks and lower-cases a DevEUI from an envelope.
func parseDevEUI(field, s string) (string, error) {
	if s == "" {
		return "", occupancy.Errorf(occupancy.EINVALID, "%s is required", field)
	}
	eui, ok := occupancy.NormalizeDevEUI(s)
	if !ok {
		return "", occupancy.Errorf(occupancy.EINVALID, "%s %q is not 16 hex digits", field, clip(s, 40))
	}
	return eui, nil
}

// parseReceivedAt parses a network server's RFC 3339 receive time.
func parseReceivedAt(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, occupancy.Errorf(occupancy.EINVALID, "%s is required", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, occupancy.Errorf(occupancy.EINVALID, "%s %q is not an RFC 3339 time", field, clip(s, 40))
	}
	return t.UTC(), nil
}

// parseFrame decodes base64 frame bytes; padding is optional.
func parseFrame(field, s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, occupancy.Errorf(occupancy.EINVALID, "%s is not base64: %v", field, err)
	}
	return b, nil
}

// parsePort checks a frame port.
func parsePort(field string, p int) (int, error) {
	if p < 0 || p > 255 {
		return 0, occupancy.Errorf(occupancy.EINVALID, "%s %d is out of range 0-255", field, p)
	}
	return p, nil
}

// unmarshalEnvelope checks the size and shape of payload and decodes it
// into v.
func unmarshalEnvelope(payload []byte, v any) error {
	if err := checkPayload(payload); err != nil {
		return err
	}
	if err := json.Unmarshal(payload, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return occupancy.Errorf(occupancy.EINVALID, "%q must be %s, not %s", te.Field, te.Type.String(), te.Value)
		}
		return jsonError(err)
	}
	return nil
}

// errorf returns an EINVALID error.
func errorf(format string, args ...any) error {
	return occupancy.Errorf(occupancy.EINVALID, format, args...)
}

// LoRaWANRoutes returns the routes of The Things Stack uplinks on ttsTopic
// and ChirpStack uplinks on chirpStackTopic, their devices looked up in reg.
// An empty topic leaves its route out.
func LoRaWANRoutes(reg *occupancy.Registry, ttsTopic, chirpStackTopic string) []Route {
	var rs []Route
	if ttsTopic != "" {
		rs = append(rs, Route{Topic: ttsTopic, Decode: LoRaWANDecoder(DecodeTTS, reg)})
	}
	if chirpStackTopic != "" {
		rs = append(rs, Route{Topic: chirpStackTopic, Decode: LoRaWANDecoder(DecodeChirpStack, reg)})
	}
	return rs
}
