package codec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/qiuai/parking/occupancy"
)

// FrameKind tells the three kinds of parking sensor frames apart.
type FrameKind string

// Frame kinds, one per LoRaWAN port of the parking sensors.
const (
	FrameStatus    FrameKind = "status"    // port 1: the occupancy changed
	FrameHeartbeat FrameKind = "heartbeat" // port 2: periodic, occupancy unchanged
	FrameStartup   FrameKind = "startup"   // port 3: the sensor (re)started
)

// LoRaWAN ports of the parking sensor frames.
const (
	PortStatus    = 1
	PortHeartbeat = 2
	PortStartup   = 3
)

// Frame is what one radio frame of a parking sensor says, decoded from its
// raw bytes (docs/sensors.md). Fields the frame does not carry are left
// zero.
type Frame struct {
	Kind       FrameKind
	Occupied   bool
	BatteryMV  int      // 0: not in this frame
	TempC      *float64 // nil: not in this frame, or outside -60..100 °C
	Firmware   string   // start-up frames: "major.minor.patch"
	ResetCause string   // start-up frames: occupancy.ResetWatchdog, … or "code_N"
	// PrevStateMin is, for an Nwave status change, how many minutes the
	// previous state lasted; -1 if the frame does not say.
	PrevStateMin int
	// PrevStateOverflow is set when the previous state lasted more than
	// 660 minutes (PrevStateMin is then 661).
	PrevStateOverflow bool
}

// FrameDecoder decodes the raw bytes of one frame received on a port. Every
// error is EINVALID.
type FrameDecoder func(port int, b []byte) (Frame, error)

// FrameEncoder returns the port and raw bytes of f as its model sends it.
// A value the layout holds with less precision or range is rounded or
// clamped; an error (EINVALID) means f cannot be sent at all (an unknown
// kind, a firmware that is not three numbers of 0-255, an unknown reset
// cause).
type FrameEncoder func(f Frame) (port int, b []byte, err error)

// FrameCodec is the frame layout of one LoRaWAN sensor model.
type FrameCodec struct {
	Decode FrameDecoder
	Encode FrameEncoder
}

// FrameCodecFor returns the frame layout of a LoRaWAN sensor model, or
// false for a model that is not LoRaWAN.
func FrameCodecFor(m occupancy.Model) (FrameCodec, bool) {
	switch m {
	case occupancy.ModelBoschTPS110:
		return FrameCodec{DecodeBoschTPS110, EncodeBoschTPS110}, true
	case occupancy.ModelNwaveNPS405:
		return FrameCodec{DecodeNwaveNPS405, EncodeNwaveNPS405}, true
	case occupancy.ModelNwaveNPS310:
		return FrameCodec{DecodeNwaveNPS310, EncodeNwaveNPS310}, true
	}
	return FrameCodec{}, false
}

// ports are the LoRaWAN ports of the frame kinds.
var ports = map[FrameKind]int{FrameStatus: PortStatus, FrameHeartbeat: PortHeartbeat, FrameStartup: PortStartup}

// frameLenError is the error of a frame of the wrong length.
func frameLenError(model string, kind FrameKind, got int, want string) error {
	return errorf("%s %s frame on port %d is %d bytes, want %s", model, kind, ports[kind], got, want)
}

// oneByte decodes a frame of kind that is one byte, the occupancy in bit 0.
func oneByte(model string, kind FrameKind, b []byte) (Frame, error) {
	if len(b) != 1 {
		return Frame{}, frameLenError(model, kind, len(b), "1")
	}
	return Frame{Kind: kind, Occupied: b[0]&1 == 1, PrevStateMin: -1}, nil
}

// startupLayout is where a model's start-up frame keeps its fields: its
// size, and the offsets of the three firmware bytes, the reset cause and
// the occupancy byte (bit 0). Other bytes are zero when encoded.
type startupLayout struct{ size, firmware, cause, occupied int }

// decode decodes a start-up frame of model.
func (l startupLayout) decode(model string, b []byte) (Frame, error) {
	if len(b) != l.size {
		return Frame{}, frameLenError(model, FrameStartup, len(b), strconv.Itoa(l.size))
	}
	return Frame{Kind: FrameStartup, Occupied: b[l.occupied]&1 == 1, Firmware: firmware(b[l.firmware : l.firmware+3]),
		ResetCause: resetCause(b[l.cause]), PrevStateMin: -1}, nil
}

// encode encodes a start-up frame: its port and bytes.
func (l startupLayout) encode(f Frame) (int, []byte, error) {
	fw, cause, err := startupFields(f)
	if err != nil {
		return 0, nil, err
	}
	b := make([]byte, l.size)
	copy(b[l.firmware:], fw[:])
	b[l.cause], b[l.occupied] = cause, occupiedBit(f.Occupied)
	return PortStartup, b, nil
}

// portError is the error of a frame on a port the model does not use.
func portError(model string, port int) error {
	return errorf("%s frame on unknown port %d (want 1 status, 2 heartbeat or 3 start-up)", model, port)
}

// kindError is the error of encoding a frame of an unknown kind.
func kindError(model string, kind FrameKind) error {
	return errorf("%s has no %q frame (want status, heartbeat or startup)", model, kind)
}

// occupiedBit is bit 0 of a frame byte that carries the occupancy.
func occupiedBit(occupied bool) byte {
	if occupied {
		return 1
	}
	return 0
}

// firmware formats three version bytes.
func firmware(b []byte) string { return fmt.Sprintf("%d.%d.%d", b[0], b[1], b[2]) }

// firmwareBytes parses "major.minor.patch", each 0-255, into three bytes.
func firmwareBytes(s string) ([3]byte, error) {
	var v [3]byte
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, errorf("firmware %q is not major.minor.patch", clip(s, 40))
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return v, errorf("firmware %q is not three numbers of 0-255", clip(s, 40))
		}
		v[i] = byte(n)
	}
	return v, nil
}

// resetCauses name the reset cause codes of the start-up frames.
var resetCauses = [...]string{1: occupancy.ResetWatchdog, 2: occupancy.ResetPowerOn,
	3: occupancy.ResetSystemRequest, 4: occupancy.ResetOther}

// resetCause names a reset cause code: 1 watchdog, 2 power on, 3 system
// request, 4 other; any other code is "code_N".
func resetCause(c byte) string {
	if int(c) < len(resetCauses) && resetCauses[c] != "" {
		return resetCauses[c]
	}
	return fmt.Sprintf("code_%d", c)
}

// resetCode is the code of a reset cause named by resetCause.
func resetCode(name string) (byte, error) {
	for c, n := range resetCauses {
		if n != "" && n == name {
			return byte(c), nil
		}
	}
	if s, ok := strings.CutPrefix(name, "code_"); ok {
		if n, err := strconv.ParseUint(s, 10, 8); err == nil {
			return byte(n), nil
		}
	}
	return 0, errorf("reset cause %q is not watchdog, power_on, system_request, other or code_N", clip(name, 40))
}

// startupFields returns the firmware bytes and reset cause code of a
// start-up frame.
func startupFields(f Frame) (fw [3]byte, cause byte, err error) {
	if fw, err = firmwareBytes(f.Firmware); err != nil {
		return fw, 0, err
	}
	cause, err = resetCode(f.ResetCause)
	return fw, cause, err
}

// plausibleTemp returns &c if c is in the range a reading accepts, else nil:
// a sensor's odd temperature must not reject its occupancy.
func plausibleTemp(c float64) *float64 {
	if c < -60 || c > 100 {
		return nil
	}
	return &c
}

// clampRound rounds v to the nearest integer (halves away from 0) within
// [lo, hi].
func clampRound(v float64, lo, hi int) int {
	return int(max(float64(lo), min(float64(hi), math.Round(v))))
}
