package codec

// Bosch Parking Lot Sensor (TPS110) frame lengths.
const (
	boschStartupLen = 17
	boschModel      = "bosch-tps110"
)

// DecodeBoschTPS110 decodes a Bosch TPS110 frame:
//
//	port 1, status change, 1 byte:  bit 0 occupied
//	port 2, heartbeat, 1-2 bytes:   bit 0 occupied; byte 1 temperature °C (int8)
//	port 3, start-up, 17 bytes:     0-11 debug codes, 12-14 firmware,
//	                                15 reset cause, 16 bit 0 occupied
func DecodeBoschTPS110(port int, b []byte) (Frame, error) {
	f := Frame{PrevStateMin: -1}
	switch port {
	case PortStatus:
		f.Kind = FrameStatus
		if len(b) != 1 {
			return Frame{}, frameLenError(boschModel, f.Kind, port, len(b), "1")
		}
		f.Occupied = b[0]&1 == 1
	case PortHeartbeat:
		f.Kind = FrameHeartbeat
		if len(b) != 1 && len(b) != 2 {
			return Frame{}, frameLenError(boschModel, f.Kind, port, len(b), "1 or 2")
		}
		f.Occupied = b[0]&1 == 1
		if len(b) == 2 {
			f.TempC = plausibleTemp(float64(int8(b[1])))
		}
	case PortStartup:
		f.Kind = FrameStartup
		if len(b) != boschStartupLen {
			return Frame{}, frameLenError(boschModel, f.Kind, port, len(b), "17")
		}
		f.Firmware = firmware(b[12:15])
		f.ResetCause = resetCause(b[15])
		f.Occupied = b[16]&1 == 1
	default:
		return Frame{}, portError(boschModel, port)
	}
	return f, nil
}

// EncodeBoschTPS110 encodes a Bosch TPS110 frame in DecodeBoschTPS110's
// layout. The heartbeat carries the temperature when f has one, rounded to
// whole degrees and clamped to -60..100 °C; the start-up frame's debug
// codes are zero.
func EncodeBoschTPS110(f Frame) (int, []byte, error) {
	occ := occupiedBit(f.Occupied)
	switch f.Kind {
	case FrameStatus:
		return PortStatus, []byte{occ}, nil
	case FrameHeartbeat:
		if f.TempC == nil {
			return PortHeartbeat, []byte{occ}, nil
		}
		return PortHeartbeat, []byte{occ, byte(int8(clampRound(*f.TempC, -60, 100)))}, nil
	case FrameStartup:
		fw, cause, err := startupFields(f)
		if err != nil {
			return 0, nil, err
		}
		b := make([]byte, boschStartupLen)
		copy(b[12:15], fw[:])
		b[15], b[16] = cause, occ
		return PortStartup, b, nil
	}
	return 0, nil, kindError(boschModel, f.Kind)
}
