package ingest

import (
	"fmt"

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
// raw bytes (SENSORS.md). Fields the frame does not carry are left zero.
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

// FrameDecoderFor returns the frame decoder of a LoRaWAN sensor model, or
// false for a model that is not LoRaWAN.
func FrameDecoderFor(m occupancy.Model) (FrameDecoder, bool) {
	switch m {
	case occupancy.ModelBoschTPS110:
		return DecodeBoschTPS110, true
	case occupancy.ModelNwaveNPS405:
		return DecodeNwaveNPS405, true
	case occupancy.ModelNwaveNPS310:
		return DecodeNwaveNPS310, true
	}
	return nil, false
}

// frameLenError is the error of a frame of the wrong length.
func frameLenError(model string, kind FrameKind, port int, got int, want string) error {
	return occupancy.Errorf(occupancy.EINVALID, "%s %s frame on port %d is %d bytes, want %s", model, kind, port, got, want)
}

// portError is the error of a frame on a port the model does not use.
func portError(model string, port int) error {
	return occupancy.Errorf(occupancy.EINVALID, "%s frame on unknown port %d (want 1 status, 2 heartbeat or 3 start-up)", model, port)
}

// firmware formats three version bytes.
func firmware(b []byte) string { return fmt.Sprintf("%d.%d.%d", b[0], b[1], b[2]) }

// resetCause names a reset cause code: 1 watchdog, 2 power on, 3 system
// request, 4 other; any other code is "code_N".
func resetCause(c byte) string {
	switch c {
	case 1:
		return occupancy.ResetWatchdog
	case 2:
		return occupancy.ResetPowerOn
	case 3:
		return occupancy.ResetSystemRequest
	case 4:
		return occupancy.ResetOther
	}
	return fmt.Sprintf("code_%d", c)
}

// plausibleTemp returns &c if c is in the range a reading accepts, else nil:
// a sensor's odd temperature must not reject its occupancy.
func plausibleTemp(c float64) *float64 {
	if c < -60 || c > 100 {
		return nil
	}
	return &c
}
