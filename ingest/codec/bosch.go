package codec

// boschModel names the Bosch Parking Lot Sensor (TPS110) in errors.
const boschModel = "bosch-tps110"

// boschStartupLayout is where a Bosch start-up frame keeps its fields; bytes 0-11
// are debug codes.
var boschStartupLayout = startupLayout{size: 17, firmware: 12, cause: 15, occupied: 16}

// DecodeBoschTPS110 decodes a Bosch TPS110 frame:
//
//	port 1, status change, 1 byte:  bit 0 occupied
//	port 2, heartbeat, 1-2 bytes:   bit 0 occupied; byte 1 temperature °C (int8)
//	port 3, start-up, 17 bytes:     0-11 debug codes, 12-14 firmware,
//	                                15 reset cause, 16 bit 0 occupied
func DecodeBoschTPS110(port int, b []byte) (Frame, error) {
	switch port {
	case PortStatus:
		return oneByte(boschModel, FrameStatus, b)
	case PortHeartbeat:
		if len(b) != 1 && len(b) != 2 {
			return Frame{}, frameLenError(boschModel, FrameHeartbeat, len(b), "1 or 2")
		}
		f, _ := oneByte(boschModel, FrameHeartbeat, b[:1])
		if len(b) == 2 {
			f.TempC = plausibleTemp(float64(int8(b[1])))
		}
		return f, nil
	case PortStartup:
		return boschStartupLayout.decode(boschModel, b)
	}
	return Frame{}, portError(boschModel, port)
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
		return boschStartupLayout.encode(f)
	}
	return 0, nil, kindError(boschModel, f.Kind)
}
