package ingest

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
