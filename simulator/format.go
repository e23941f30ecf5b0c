package simulator

import (
	"fmt"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// Format is the wire format of the simulated sensors' messages.
type Format string

// Formats. With FormatTTN or FormatChirpStack, spaces whose registry model is
// a LoRaWAN one send their model's radio frames in that network server's
// uplink envelope; native spaces always send the native JSON.
const (
	FormatNative     Format = "native"     // the native JSON for every sensor
	FormatTTN        Format = "ttn"        // The Things Stack v3 uplinks
	FormatChirpStack Format = "chirpstack" // ChirpStack v4 uplink events
)

// ParseFormat returns the Format named s.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatNative, FormatTTN, FormatChirpStack:
		return f, nil
	}
	return "", fmt.Errorf("simulator: format %q is not native, ttn or chirpstack", s)
}

// The simulated network: the names the simulator publishes under, as a
// network server would, and its one gateway's radio settings.
const (
	ttnTopicApplication   = "qiuai-parking@qiuai" // The Things Stack application@tenant
	ttnApplication        = "qiuai-parking"
	ttnGateway            = "qiuai-gw-1"
	chirpStackApplication = "17c82e96-be03-4f38-aef3-f83d48582d97"
	chirpStackGateway     = "0016c001f153a14c"
)

// The simulated sensors' firmware and the reset cause of their start-up
// frames.
const (
	simFirmware   = "1.4.2"
	simResetCause = occupancy.ResetPowerOn
)

// topicOf returns the topic the sensor of sp publishes to in format f.
func topicOf(f Format, sp *occupancy.Space) string {
	if !sp.Model.LoRaWAN() {
		return Topic(sp.SensorID)
	}
	switch f {
	case FormatTTN:
		return codec.TTSTopic(ttnTopicApplication, sp.SensorID)
	case FormatChirpStack:
		return codec.ChirpStackTopic(chirpStackApplication, sp.SensorID)
	}
	return Topic(sp.SensorID)
}

// encodeFor returns m as the sensor of sn sends it: the native JSON, or its
// model's frame in the Format's envelope. The first message of a LoRaWAN
// sensor is its start-up frame, with frame counter 0 as after a join; the
// counter is seq-1. The receive time of the envelope is m's ts.
func (s *Simulator) encodeFor(sn *sensor, m *message) []byte {
	fc, ok := codec.FrameCodecFor(sn.space.Model)
	if s.opts.Format == FormatNative || !ok {
		return encode(m)
	}
	port, frame, err := fc.Encode(lorawanFrame(sn, m))
	if err != nil {
		panic(fmt.Sprintf("simulator: encode a %s frame: %v", sn.space.Model, err)) // the frames are the simulator's own
	}
	rssi, snr := simRSSI(m), float64(simSNRDeci(m))/10
	up := codec.Uplink{DevEUI: sn.space.SensorID, ReceivedAt: m.time(), FCnt: uint32(m.seq - 1), FPort: port,
		Payload: frame, RSSI: &rssi, SNR: &snr}
	if s.opts.Format == FormatTTN {
		return codec.EncodeTTS(up, codec.Origin{DeviceID: up.DevEUI, Application: ttnApplication, Gateway: ttnGateway,
			FrequencyHz: 470300000, BandwidthHz: 125000, SpreadingFactor: 9})
	}
	return codec.EncodeChirpStack(up, codec.Origin{DeduplicationID: dedupID(up.DevEUI, m.seq), Tenant: "Qiuai",
		Application: chirpStackApplication, ApplicationName: "parking", DeviceID: up.DevEUI, Gateway: chirpStackGateway})
}

// lorawanFrame returns what the frame of m says: a start-up frame first,
// then heartbeats with battery and temperature, and status changes with how
// long the previous state lasted (which only the Nwave layouts carry).
func lorawanFrame(sn *sensor, m *message) codec.Frame {
	f := codec.Frame{Kind: codec.FrameStatus, Occupied: m.occupied, PrevStateMin: -1}
	switch {
	case m.seq == 1:
		sn.stateTS = m.ts // the start-up frame begins the first state
		f.Kind, f.Firmware, f.ResetCause = codec.FrameStartup, simFirmware, simResetCause
	case m.kind == occupancy.ReadingHeartbeat:
		temp := m.tempC()
		f.Kind, f.BatteryMV, f.TempC = codec.FrameHeartbeat, m.batteryMV, &temp
	default:
		f.PrevStateMin = int((m.ts - sn.stateTS) / 60000)
		sn.stateTS = m.ts
	}
	return f
}

// simRSSI is a believable RSSI for m, dBm: -120 to -71, fixed by its seq.
func simRSSI(m *message) int { return -71 - int(m.seq*7919%50) }

// simSNRDeci is a believable SNR for m, tenths of dB: -10.0 to 9.9.
func simSNRDeci(m *message) int { return int(m.seq*104729%200) - 100 }

// dedupID is a UUID-shaped id unique per device and message.
func dedupID(devEUI string, seq uint64) string {
	return fmt.Sprintf("%s-%s-4%s-8%s-%012x", devEUI[:8], devEUI[8:12], devEUI[12:15], devEUI[13:16], seq)
}

// warnFormat warns when a LoRaWAN format is asked for but no space of the
// registry has a LoRaWAN model: every sensor will speak the native format.
func (s *Simulator) warnFormat() {
	if s.opts.Format == FormatNative {
		return
	}
	for _, sp := range s.opts.Registry.Spaces() {
		if sp.Model.LoRaWAN() {
			return
		}
	}
	s.log.Warn("no space of the registry has a LoRaWAN model: every sensor sends the native format "+
		"(parksim registry -models writes a registry with models)", "format", string(s.opts.Format))
}
