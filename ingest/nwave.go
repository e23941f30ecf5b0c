package ingest

import (
	"strconv"

	"github.com/qiuai/parking/occupancy"
)

// NwaveDuration expands the compressed duration c (0-127) of an Nwave status
// change into minutes: c < 90 is c minutes; 90 ≤ c < 120 is 90 + (c−90)·5;
// 120 ≤ c < 127 is 240 + (c−120)·60; c = 127 means more than 660 minutes,
// returned as 661 with overflow set.
func NwaveDuration(c byte) (minutes int, overflow bool) {
	n := int(c & 0x7f)
	switch {
	case n < 90:
		return n, false
	case n < 120:
		return 90 + (n-90)*5, false
	case n < 127:
		return 240 + (n-120)*60, false
	}
	return 661, true
}

// DecodeNwaveNPS405 decodes an Nwave NPS405 frame:
//
//	port 1, status change, 1 byte: bit 0 occupied, bits 7..1 compressed
//	                               duration of the previous state
//	port 2, heartbeat, 3 bytes:    bit 0 occupied; battery 2500 + byte1·4 mV;
//	                               temperature int8(byte2)/2 + 10 °C
//	port 3, start-up, 5 bytes:     0-2 firmware, 3 reset cause, 4 bit 0 occupied
func DecodeNwaveNPS405(port int, b []byte) (Frame, error) {
	return decodeNwave(string(occupancy.ModelNwaveNPS405), 3, port, b)
}

// DecodeNwaveNPS310 decodes an Nwave NPS310 frame: as DecodeNwaveNPS405, but
// its heartbeat is the single occupancy byte.
func DecodeNwaveNPS310(port int, b []byte) (Frame, error) {
	return decodeNwave(string(occupancy.ModelNwaveNPS310), 1, port, b)
}

// nwaveStartupLen is the length of an Nwave start-up frame.
const nwaveStartupLen = 5

// decodeNwave decodes a frame of an Nwave model whose heartbeat is hbLen
// bytes long.
func decodeNwave(model string, hbLen, port int, b []byte) (Frame, error) {
	f := Frame{PrevStateMin: -1}
	switch port {
	case PortStatus:
		f.Kind = FrameStatus
		if len(b) != 1 {
			return Frame{}, frameLenError(model, f.Kind, port, len(b), "1")
		}
		f.Occupied = b[0]&1 == 1
		f.PrevStateMin, f.PrevStateOverflow = NwaveDuration(b[0] >> 1)
	case PortHeartbeat:
		f.Kind = FrameHeartbeat
		if len(b) != hbLen {
			return Frame{}, frameLenError(model, f.Kind, port, len(b), strconv.Itoa(hbLen))
		}
		f.Occupied = b[0]&1 == 1
		if hbLen == 3 {
			f.BatteryMV = 2500 + int(b[1])*4
			f.TempC = plausibleTemp(float64(int8(b[2]))/2 + 10)
		}
	case PortStartup:
		f.Kind = FrameStartup
		if len(b) != nwaveStartupLen {
			return Frame{}, frameLenError(model, f.Kind, port, len(b), "5")
		}
		f.Firmware = firmware(b[0:3])
		f.ResetCause = resetCause(b[3])
		f.Occupied = b[4]&1 == 1
	default:
		return Frame{}, portError(model, port)
	}
	return f, nil
}
