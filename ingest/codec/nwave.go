package codec

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

// NwaveCode is the inverse of NwaveDuration: the code whose duration is the
// longest not above minutes (0 for a negative one), or 127 (overflow) for
// more than 660 minutes.
func NwaveCode(minutes int) byte {
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

// DecodeNwaveNPS405 decodes an Nwave NPS405 frame:
//
//	port 1, status change, 1 byte: bit 0 occupied, bits 7..1 compressed
//	                               duration of the previous state
//	port 2, heartbeat, 3 bytes:    bit 0 occupied; battery 2500 + byte1·4 mV;
//	                               temperature int8(byte2)/2 + 10 °C
//	port 3, start-up, 5 bytes:     0-2 firmware, 3 reset cause, 4 bit 0 occupied
func DecodeNwaveNPS405(port int, b []byte) (Frame, error) {
	return decodeNwave(string(occupancy.ModelNwaveNPS405), nps405HeartbeatLen, port, b)
}

// DecodeNwaveNPS310 decodes an Nwave NPS310 frame: as DecodeNwaveNPS405, but
// its heartbeat is the single occupancy byte.
func DecodeNwaveNPS310(port int, b []byte) (Frame, error) {
	return decodeNwave(string(occupancy.ModelNwaveNPS310), 1, port, b)
}

// EncodeNwaveNPS405 encodes an Nwave NPS405 frame in DecodeNwaveNPS405's
// layout. A status change carries PrevStateMin as NwaveCode does (overflow
// when PrevStateOverflow is set). The heartbeat's battery is rounded down
// to 4 mV within 2500-3520 mV (0, not reported, gives 2500), its
// temperature to half a degree within -54..73.5 °C (nil gives 10 °C).
func EncodeNwaveNPS405(f Frame) (int, []byte, error) {
	return encodeNwave(string(occupancy.ModelNwaveNPS405), nps405HeartbeatLen, f)
}

// EncodeNwaveNPS310 encodes an Nwave NPS310 frame: as EncodeNwaveNPS405,
// but its heartbeat is the single occupancy byte.
func EncodeNwaveNPS310(f Frame) (int, []byte, error) {
	return encodeNwave(string(occupancy.ModelNwaveNPS310), 1, f)
}

// nps405HeartbeatLen is the length of an NPS405 heartbeat.
const nps405HeartbeatLen = 3

// nwaveStartupLayout is where an Nwave start-up frame keeps its fields.
var nwaveStartupLayout = startupLayout{size: 5, firmware: 0, cause: 3, occupied: 4}

// decodeNwave decodes a frame of an Nwave model whose heartbeat is hbLen
// bytes long.
func decodeNwave(model string, hbLen, port int, b []byte) (Frame, error) {
	switch port {
	case PortStatus:
		f, err := oneByte(model, FrameStatus, b)
		if err == nil {
			f.PrevStateMin, f.PrevStateOverflow = NwaveDuration(b[0] >> 1)
		}
		return f, err
	case PortHeartbeat:
		if hbLen == 1 {
			return oneByte(model, FrameHeartbeat, b)
		}
		if len(b) != hbLen {
			return Frame{}, frameLenError(model, FrameHeartbeat, len(b), strconv.Itoa(hbLen))
		}
		f, _ := oneByte(model, FrameHeartbeat, b[:1])
		f.BatteryMV = 2500 + int(b[1])*4
		f.TempC = plausibleTemp(float64(int8(b[2]))/2 + 10)
		return f, nil
	case PortStartup:
		return nwaveStartupLayout.decode(model, b)
	}
	return Frame{}, portError(model, port)
}

// encodeNwave encodes a frame of an Nwave model whose heartbeat is hbLen
// bytes long.
func encodeNwave(model string, hbLen int, f Frame) (int, []byte, error) {
	occ := occupiedBit(f.Occupied)
	switch f.Kind {
	case FrameStatus:
		c := NwaveCode(f.PrevStateMin)
		if f.PrevStateOverflow {
			c = 127
		}
		return PortStatus, []byte{occ | c<<1}, nil
	case FrameHeartbeat:
		if hbLen == 1 {
			return PortHeartbeat, []byte{occ}, nil
		}
		return PortHeartbeat, []byte{occ, nwaveBattery(f.BatteryMV), nwaveTemp(f.TempC)}, nil
	case FrameStartup:
		return nwaveStartupLayout.encode(f)
	}
	return 0, nil, kindError(model, f.Kind)
}

// nwaveBattery is the heartbeat byte of a battery voltage: (mV − 2500) / 4.
func nwaveBattery(mv int) byte { return byte(max(0, min(255, (mv-2500)/4))) }

// nwaveTemp is the heartbeat byte of a temperature: (°C − 10) · 2, as int8.
func nwaveTemp(c *float64) byte {
	if c == nil {
		return 0
	}
	return byte(int8(clampRound((*c-10)*2, -128, 127)))
}
