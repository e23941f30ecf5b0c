package simulator

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Format is the wire format of the simulated sensors' messages.
type Format string

// Formats. With FormatTTN or FormatChirpStack, spaces whose registry model is
// a LoRaWAN one send their model's radio frames in that network server's
// uplink envelope; native spaces always send the native JSON.
const (
	FormatNative     Format = "native"     // CONTRACT.md's JSON for every sensor
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

// Envelope identities the simulator publishes under, as a network server
// would: the application and tenant (TTS), the application UUID (ChirpStack).
const (
	ttnApplication        = "qiuai-parking@qiuai"
	chirpStackApplication = "17c82e96-be03-4f38-aef3-f83d48582d97"
)

// topicOf returns the topic the sensor of sp publishes to in format f.
func topicOf(f Format, sp *occupancy.Space) string {
	if !sp.Model.LoRaWAN() {
		return Topic(sp.SensorID)
	}
	switch f {
	case FormatTTN:
		return "v3/" + ttnApplication + "/devices/" + sp.SensorID + "/up"
	case FormatChirpStack:
		return "application/" + chirpStackApplication + "/device/" + sp.SensorID + "/event/up"
	}
	return Topic(sp.SensorID)
}

// encodeFor returns m as the sensor of sn sends it: the native JSON, or its
// model's frame in the Format's envelope. The first message of a LoRaWAN
// sensor is its start-up frame, with frame counter 0 as after a join; the
// counter is seq-1. The receive time of the envelope is m's ts.
func (s *Simulator) encodeFor(sn *sensor, m *message) []byte {
	if s.opts.Format == FormatNative || !sn.space.Model.LoRaWAN() {
		return encode(m)
	}
	port, frame := lorawanFrame(sn, m)
	if s.opts.Format == FormatTTN {
		return ttnUplink(sn.space.SensorID, m, port, frame)
	}
	return chirpStackUplink(sn.space.SensorID, m, port, frame)
}

// Firmware and reset cause of the simulated start-up frames: 1.4.2, power on.
var (
	simFirmware   = [3]byte{1, 4, 2}
	simResetCause = byte(2)
)

// lorawanFrame returns the port and bytes of m in the frame layout of the
// sensor's model (SENSORS.md).
func lorawanFrame(sn *sensor, m *message) (int, []byte) {
	occ := byte(0)
	if m.occupied {
		occ = 1
	}
	model := sn.space.Model
	if m.seq == 1 {
		sn.stateTS = m.ts // the start-up frame begins the first state
	}
	switch {
	case m.seq == 1 && model == occupancy.ModelBoschTPS110:
		b := make([]byte, 17)
		copy(b[12:15], simFirmware[:])
		b[15], b[16] = simResetCause, occ
		return 3, b
	case m.seq == 1:
		return 3, []byte{simFirmware[0], simFirmware[1], simFirmware[2], simResetCause, occ}
	case m.kind == occupancy.ReadingHeartbeat && model == occupancy.ModelBoschTPS110:
		return 2, []byte{occ, byte(int8(clampInt(roundDiv(m.tempDeci, 10), -60, 100)))}
	case m.kind == occupancy.ReadingHeartbeat && model == occupancy.ModelNwaveNPS405:
		bat := clampInt((m.batteryMV-2500)/4, 0, 255)
		temp := clampInt(roundDiv(m.tempDeci-100, 5), -128, 127) // (°C - 10) * 2
		return 2, []byte{occ, byte(bat), byte(int8(temp))}
	case m.kind == occupancy.ReadingHeartbeat:
		return 2, []byte{occ}
	case model == occupancy.ModelBoschTPS110:
		return 1, []byte{occ}
	}
	c := nwaveCompress(int((m.ts - sn.stateTS) / 60000))
	sn.stateTS = m.ts
	return 1, []byte{occ | c<<1}
}

// nwaveCompress is the inverse of the Nwave duration code: minutes to the
// 7-bit code whose duration is the largest not above them.
func nwaveCompress(minutes int) byte {
	switch {
	case minutes < 0:
		return 0
	case minutes < 90:
		return byte(minutes)
	case minutes < 240:
		return byte(90 + (minutes-90)/5)
	case minutes <= 660:
		return byte(min(126, 120+(minutes-240)/60))
	}
	return 127
}

// ttnUplink is a The Things Stack v3 uplink message, zero fields left out.
func ttnUplink(devEUI string, m *message, port int, frame []byte) []byte {
	b := make([]byte, 0, 512)
	b = append(b, `{"end_device_ids":{"device_id":"`...)
	b = append(b, devEUI...)
	b = append(b, `","application_ids":{"application_id":"qiuai-parking"},"dev_eui":"`...)
	b = append(b, upperHex(devEUI)...)
	b = append(b, `"},"received_at":"`...)
	b = m.time().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","uplink_message":{"f_port":`...)
	b = strconv.AppendInt(b, int64(port), 10)
	if fcnt := m.seq - 1; fcnt > 0 {
		b = append(b, `,"f_cnt":`...)
		b = strconv.AppendUint(b, fcnt, 10)
	}
	b = append(b, `,"frm_payload":"`...)
	b = base64.StdEncoding.AppendEncode(b, frame)
	b = append(b, `","rx_metadata":[{"gateway_ids":{"gateway_id":"qiuai-gw-1"},"rssi":`...)
	b = strconv.AppendInt(b, int64(simRSSI(m)), 10)
	b = append(b, `,"channel_rssi":`...)
	b = strconv.AppendInt(b, int64(simRSSI(m)), 10)
	b = append(b, `,"snr":`...)
	b = appendDeci(b, simSNRDeci(m))
	b = append(b, `}],"settings":{"data_rate":{"lora":{"bandwidth":125000,"spreading_factor":9}},"frequency":"470300000"}}}`...)
	return b
}

// chirpStackUplink is a ChirpStack v4 uplink event, fCnt 0 left out.
func chirpStackUplink(devEUI string, m *message, port int, frame []byte) []byte {
	b := make([]byte, 0, 512)
	b = append(b, `{"deduplicationId":"`...)
	b = append(b, dedupID(devEUI, m.seq)...)
	b = append(b, `","time":"`...)
	b = m.time().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","deviceInfo":{"tenantName":"Qiuai","applicationId":"`...)
	b = append(b, chirpStackApplication...)
	b = append(b, `","applicationName":"parking","deviceName":"`...)
	b = append(b, devEUI...)
	b = append(b, `","devEui":"`...)
	b = append(b, devEUI...)
	b = append(b, `","tags":{}},`...)
	if fcnt := m.seq - 1; fcnt > 0 {
		b = append(b, `"fCnt":`...)
		b = strconv.AppendUint(b, fcnt, 10)
		b = append(b, ',')
	}
	b = append(b, `"fPort":`...)
	b = strconv.AppendInt(b, int64(port), 10)
	b = append(b, `,"data":"`...)
	b = base64.StdEncoding.AppendEncode(b, frame)
	b = append(b, `","rxInfo":[{"gatewayId":"0016c001f153a14c","rssi":`...)
	b = strconv.AppendInt(b, int64(simRSSI(m)), 10)
	b = append(b, `,"snr":`...)
	b = appendDeci(b, simSNRDeci(m))
	return append(b, `}]}`...)
}

// simRSSI is a believable RSSI for m, dBm: -120 to -71, fixed by its seq.
func simRSSI(m *message) int { return -71 - int(m.seq*7919%50) }

// simSNRDeci is a believable SNR for m, tenths of dB: -10.0 to 9.9.
func simSNRDeci(m *message) int { return int(m.seq*104729%200) - 100 }

// dedupID is a UUID-shaped id unique per device and message.
func dedupID(devEUI string, seq uint64) string {
	return fmt.Sprintf("%s-%s-4%s-8%s-%012x", devEUI[:8], devEUI[8:12], devEUI[12:15], devEUI[13:16], seq)
}

// upperHex upper-cases hex digits, as The Things Stack prints a DevEUI.
func upperHex(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// roundDiv returns a/b rounded to the nearest integer, halves away from 0.
func roundDiv(a, b int) int { return int(math.Round(float64(a) / float64(b))) }

// clampInt limits v to [lo, hi].
func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

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
