package codec

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

func f64(v float64) *float64 { return &v }

func intp(v int) *int { return &v }

// bosch start-up frame: debug codes 0-11, firmware 12-14, reset cause 15,
// occupancy 16.
func boschStartup(fw [3]byte, cause, occ byte) []byte {
	b := []byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7}
	return append(b, fw[0], fw[1], fw[2], cause, occ)
}

func TestDecodeBoschTPS110(t *testing.T) {
	tests := []struct {
		name    string
		port    int
		b       []byte
		want    Frame
		wantErr string
	}{
		{"status occupied", 1, []byte{0x01}, Frame{Kind: FrameStatus, Occupied: true, PrevStateMin: -1}, ""},
		{"status free", 1, []byte{0x00}, Frame{Kind: FrameStatus, PrevStateMin: -1}, ""},
		{"status other bits ignored", 1, []byte{0xfe}, Frame{Kind: FrameStatus, PrevStateMin: -1}, ""},
		{"heartbeat without temperature", 2, []byte{0x01}, Frame{Kind: FrameHeartbeat, Occupied: true, PrevStateMin: -1}, ""},
		{"heartbeat 21 °C", 2, []byte{0x00, 21}, Frame{Kind: FrameHeartbeat, TempC: f64(21), PrevStateMin: -1}, ""},
		{"heartbeat -5 °C", 2, []byte{0x01, 0xfb}, Frame{Kind: FrameHeartbeat, Occupied: true, TempC: f64(-5), PrevStateMin: -1}, ""},
		{"heartbeat implausible -128 °C dropped", 2, []byte{0x01, 0x80}, Frame{Kind: FrameHeartbeat, Occupied: true, PrevStateMin: -1}, ""},
		{"heartbeat 127 °C dropped", 2, []byte{0x00, 0x7f}, Frame{Kind: FrameHeartbeat, PrevStateMin: -1}, ""},
		{"start-up watchdog", 3, boschStartup([3]byte{1, 4, 2}, 1, 1),
			Frame{Kind: FrameStartup, Occupied: true, Firmware: "1.4.2", ResetCause: occupancy.ResetWatchdog, PrevStateMin: -1}, ""},
		{"start-up power on", 3, boschStartup([3]byte{2, 0, 17}, 2, 0),
			Frame{Kind: FrameStartup, Firmware: "2.0.17", ResetCause: occupancy.ResetPowerOn, PrevStateMin: -1}, ""},
		{"start-up system request", 3, boschStartup([3]byte{0, 9, 255}, 3, 0),
			Frame{Kind: FrameStartup, Firmware: "0.9.255", ResetCause: occupancy.ResetSystemRequest, PrevStateMin: -1}, ""},
		{"start-up other", 3, boschStartup([3]byte{1, 0, 0}, 4, 1),
			Frame{Kind: FrameStartup, Occupied: true, Firmware: "1.0.0", ResetCause: occupancy.ResetOther, PrevStateMin: -1}, ""},
		{"start-up undocumented cause", 3, boschStartup([3]byte{1, 0, 0}, 9, 0),
			Frame{Kind: FrameStartup, Firmware: "1.0.0", ResetCause: "code_9", PrevStateMin: -1}, ""},
		{"status empty", 1, nil, Frame{}, "status frame on port 1 is 0 bytes, want 1"},
		{"status too long", 1, []byte{1, 0}, Frame{}, "status frame on port 1 is 2 bytes, want 1"},
		{"heartbeat empty", 2, []byte{}, Frame{}, "is 0 bytes, want 1 or 2"},
		{"heartbeat too long", 2, []byte{1, 2, 3}, Frame{}, "is 3 bytes, want 1 or 2"},
		{"start-up short", 3, boschStartup([3]byte{1, 0, 0}, 1, 1)[:16], Frame{}, "is 16 bytes, want 17"},
		{"start-up long", 3, append(boschStartup([3]byte{1, 0, 0}, 1, 1), 0), Frame{}, "is 18 bytes, want 17"},
		{"port 0", 0, []byte{1}, Frame{}, "unknown port 0"},
		{"port 4", 4, []byte{1}, Frame{}, "unknown port 4"},
		{"port 255", 255, []byte{1}, Frame{}, "unknown port 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBoschTPS110(tt.port, tt.b)
			checkFrame(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestNwaveDuration(t *testing.T) {
	tests := []struct {
		c        byte
		min      int
		overflow bool
	}{
		{0, 0, false}, {1, 1, false}, {89, 89, false},
		{90, 90, false}, {91, 95, false}, {119, 235, false},
		{120, 240, false}, {121, 300, false}, {126, 600, false},
		{127, 661, true},
	}
	for _, tt := range tests {
		m, o := NwaveDuration(tt.c)
		if m != tt.min || o != tt.overflow {
			t.Errorf("NwaveDuration(%d) = %d, %v; want %d, %v", tt.c, m, o, tt.min, tt.overflow)
		}
	}
}

func TestDecodeNwave(t *testing.T) {
	status := func(c byte, occ bool) []byte {
		b := c << 1
		if occ {
			b |= 1
		}
		return []byte{b}
	}
	tests := []struct {
		name    string
		dec     FrameDecoder
		port    int
		b       []byte
		want    Frame
		wantErr string
	}{
		{"405 status occupied after 0 min", DecodeNwaveNPS405, 1, status(0, true), Frame{Kind: FrameStatus, Occupied: true}, ""},
		{"405 status free after 89 min", DecodeNwaveNPS405, 1, status(89, false), Frame{Kind: FrameStatus, PrevStateMin: 89}, ""},
		{"405 status c=90 is 90 min", DecodeNwaveNPS405, 1, status(90, true), Frame{Kind: FrameStatus, Occupied: true, PrevStateMin: 90}, ""},
		{"405 status c=119 is 235 min", DecodeNwaveNPS405, 1, status(119, false), Frame{Kind: FrameStatus, PrevStateMin: 235}, ""},
		{"405 status c=120 is 240 min", DecodeNwaveNPS405, 1, status(120, true), Frame{Kind: FrameStatus, Occupied: true, PrevStateMin: 240}, ""},
		{"405 status c=126 is 600 min", DecodeNwaveNPS405, 1, status(126, false), Frame{Kind: FrameStatus, PrevStateMin: 600}, ""},
		{"405 status c=127 overflow", DecodeNwaveNPS405, 1, status(127, true),
			Frame{Kind: FrameStatus, Occupied: true, PrevStateMin: 661, PrevStateOverflow: true}, ""},
		{"310 status 0xff", DecodeNwaveNPS310, 1, []byte{0xff},
			Frame{Kind: FrameStatus, Occupied: true, PrevStateMin: 661, PrevStateOverflow: true}, ""},
		{"405 heartbeat 3300 mV 21.5 °C", DecodeNwaveNPS405, 2, []byte{0x01, 0xc8, 0x17},
			Frame{Kind: FrameHeartbeat, Occupied: true, BatteryMV: 3300, TempC: f64(21.5), PrevStateMin: -1}, ""},
		{"405 heartbeat min battery, -54 °C", DecodeNwaveNPS405, 2, []byte{0x00, 0x00, 0x80},
			Frame{Kind: FrameHeartbeat, BatteryMV: 2500, TempC: f64(-54), PrevStateMin: -1}, ""},
		{"405 heartbeat max battery, 73.5 °C", DecodeNwaveNPS405, 2, []byte{0x00, 0xff, 0x7f},
			Frame{Kind: FrameHeartbeat, BatteryMV: 3520, TempC: f64(73.5), PrevStateMin: -1}, ""},
		{"405 heartbeat 10 °C at 0", DecodeNwaveNPS405, 2, []byte{0x01, 0x64, 0x00},
			Frame{Kind: FrameHeartbeat, Occupied: true, BatteryMV: 2900, TempC: f64(10), PrevStateMin: -1}, ""},
		{"310 heartbeat", DecodeNwaveNPS310, 2, []byte{0x01}, Frame{Kind: FrameHeartbeat, Occupied: true, PrevStateMin: -1}, ""},
		{"405 start-up", DecodeNwaveNPS405, 3, []byte{3, 1, 7, 2, 1},
			Frame{Kind: FrameStartup, Occupied: true, Firmware: "3.1.7", ResetCause: occupancy.ResetPowerOn, PrevStateMin: -1}, ""},
		{"310 start-up", DecodeNwaveNPS310, 3, []byte{1, 2, 3, 0, 0},
			Frame{Kind: FrameStartup, Firmware: "1.2.3", ResetCause: "code_0", PrevStateMin: -1}, ""},
		{"405 status too long", DecodeNwaveNPS405, 1, []byte{1, 2}, Frame{}, "nwave-nps405 status frame on port 1 is 2 bytes, want 1"},
		{"405 heartbeat of a 310", DecodeNwaveNPS405, 2, []byte{1}, Frame{}, "nwave-nps405 heartbeat frame on port 2 is 1 bytes, want 3"},
		{"405 heartbeat 2 bytes", DecodeNwaveNPS405, 2, []byte{1, 2}, Frame{}, "is 2 bytes, want 3"},
		{"310 heartbeat of a 405", DecodeNwaveNPS310, 2, []byte{1, 2, 3}, Frame{}, "nwave-nps310 heartbeat frame on port 2 is 3 bytes, want 1"},
		{"310 heartbeat empty", DecodeNwaveNPS310, 2, nil, Frame{}, "is 0 bytes, want 1"},
		{"start-up 4 bytes", DecodeNwaveNPS405, 3, []byte{1, 2, 3, 4}, Frame{}, "is 4 bytes, want 5"},
		{"start-up 17 bytes (a Bosch one)", DecodeNwaveNPS310, 3, boschStartup([3]byte{1, 0, 0}, 1, 1), Frame{}, "is 17 bytes, want 5"},
		{"port 0", DecodeNwaveNPS405, 0, []byte{1}, Frame{}, "unknown port 0"},
		{"port 10", DecodeNwaveNPS310, 10, []byte{1}, Frame{}, "unknown port 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.dec(tt.port, tt.b)
			checkFrame(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestFrameCodecFor(t *testing.T) {
	for _, m := range occupancy.Models {
		fc, ok := FrameCodecFor(m)
		if ok != m.LoRaWAN() || ok && (fc.Decode == nil || fc.Encode == nil) {
			t.Errorf("FrameCodecFor(%s) found %v, want %v", m, ok, m.LoRaWAN())
		}
	}
}

// TestFrameRoundTrip checks each model's Encode then Decode: a frame whose
// values the layout holds comes back as it went, one whose values it does
// not comes back rounded or clamped as documented.
func TestFrameRoundTrip(t *testing.T) {
	startup := Frame{Kind: FrameStartup, Occupied: true, Firmware: "2.0.17", ResetCause: occupancy.ResetSystemRequest, PrevStateMin: -1}
	odd := startup
	odd.Occupied, odd.Firmware, odd.ResetCause = false, "0.0.255", "code_9"
	status := Frame{Kind: FrameStatus, Occupied: true, PrevStateMin: -1}
	nwStatus := func(min int, over bool) Frame {
		return Frame{Kind: FrameStatus, PrevStateMin: min, PrevStateOverflow: over}
	}
	hb := func(mv int, temp *float64) Frame {
		return Frame{Kind: FrameHeartbeat, Occupied: true, BatteryMV: mv, TempC: temp, PrevStateMin: -1}
	}
	tests := []struct {
		name    string
		model   occupancy.Model
		in      Frame
		port    int
		want    Frame // zero: in
		wantLen int
	}{
		{"bosch status", occupancy.ModelBoschTPS110, status, 1, Frame{}, 1},
		{"bosch heartbeat without temperature", occupancy.ModelBoschTPS110, hb(0, nil), 2, Frame{}, 1},
		{"bosch heartbeat -5 °C", occupancy.ModelBoschTPS110, hb(0, f64(-5)), 2, Frame{}, 2},
		{"bosch heartbeat 21.5 °C rounds to 22", occupancy.ModelBoschTPS110, hb(0, f64(21.5)), 2, hb(0, f64(22)), 2},
		{"bosch heartbeat -70 °C clamps to -60", occupancy.ModelBoschTPS110, hb(0, f64(-70)), 2, hb(0, f64(-60)), 2},
		{"bosch heartbeat drops a battery it cannot carry", occupancy.ModelBoschTPS110, hb(3300, f64(1)), 2, hb(0, f64(1)), 2},
		{"bosch start-up", occupancy.ModelBoschTPS110, startup, 3, Frame{}, 17},
		{"bosch start-up, undocumented cause", occupancy.ModelBoschTPS110, odd, 3, Frame{}, 17},
		{"nps405 status 74 min", occupancy.ModelNwaveNPS405, nwStatus(74, false), 1, Frame{}, 1},
		{"nps405 status 237 min is 235", occupancy.ModelNwaveNPS405, nwStatus(237, false), 1, nwStatus(235, false), 1},
		{"nps405 status 659 min is 600", occupancy.ModelNwaveNPS405, nwStatus(659, false), 1, nwStatus(600, false), 1},
		{"nps405 status over 660 min", occupancy.ModelNwaveNPS405, nwStatus(900, false), 1, nwStatus(661, true), 1},
		{"nps405 status overflow", occupancy.ModelNwaveNPS405, nwStatus(661, true), 1, Frame{}, 1},
		{"nps405 status unknown duration is 0", occupancy.ModelNwaveNPS405, status, 1, Frame{Kind: FrameStatus, Occupied: true}, 1},
		{"nps405 heartbeat", occupancy.ModelNwaveNPS405, hb(3344, f64(-10)), 2, Frame{}, 3},
		{"nps405 heartbeat rounds", occupancy.ModelNwaveNPS405, hb(3347, f64(21.3)), 2, hb(3344, f64(21.5)), 3},
		{"nps405 heartbeat clamps", occupancy.ModelNwaveNPS405, hb(9000, f64(90)), 2, hb(3520, f64(73.5)), 3},
		{"nps405 heartbeat without values", occupancy.ModelNwaveNPS405, hb(0, nil), 2, hb(2500, f64(10)), 3},
		{"nps405 start-up", occupancy.ModelNwaveNPS405, startup, 3, Frame{}, 5},
		{"nps310 status", occupancy.ModelNwaveNPS310, nwStatus(12, false), 1, Frame{}, 1},
		{"nps310 heartbeat carries the occupancy only", occupancy.ModelNwaveNPS310, hb(3300, f64(20)), 2, hb(0, nil), 1},
		{"nps310 start-up", occupancy.ModelNwaveNPS310, odd, 3, Frame{}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc, _ := FrameCodecFor(tc.model)
			port, b, err := fc.Encode(tc.in)
			if err != nil || port != tc.port || len(b) != tc.wantLen {
				t.Fatalf("Encode = port %d, % x, %v; want port %d, %d bytes", port, b, err, tc.port, tc.wantLen)
			}
			got, err := fc.Decode(port, b)
			want := tc.want
			if want.Kind == "" {
				want = tc.in
			}
			checkFrame(t, got, err, want, "")
		})
	}
}

func TestFrameEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
		want string
	}{
		{"no kind", Frame{}, `has no "" frame`},
		{"firmware of two numbers", Frame{Kind: FrameStartup, Firmware: "1.2", ResetCause: "watchdog"}, `firmware "1.2" is not major.minor.patch`},
		{"firmware over 255", Frame{Kind: FrameStartup, Firmware: "1.2.256", ResetCause: "watchdog"}, "is not three numbers of 0-255"},
		{"unknown reset cause", Frame{Kind: FrameStartup, Firmware: "1.2.3", ResetCause: "tired"}, `reset cause "tired" is not`},
		{"reset code over 255", Frame{Kind: FrameStartup, Firmware: "1.2.3", ResetCause: "code_256"}, `reset cause "code_256" is not`},
	}
	for _, tc := range tests {
		for _, m := range []occupancy.Model{occupancy.ModelBoschTPS110, occupancy.ModelNwaveNPS405, occupancy.ModelNwaveNPS310} {
			t.Run(string(m)+": "+tc.name, func(t *testing.T) {
				fc, _ := FrameCodecFor(m)
				_, _, err := fc.Encode(tc.f)
				checkErr(t, err, tc.want)
			})
		}
	}
}

// TestNwaveCode checks that NwaveCode gives the code of the longest
// duration not above the minutes, and every code back from its duration.
func TestNwaveCode(t *testing.T) {
	for _, m := range []int{-5, 0, 1, 89, 90, 94, 95, 235, 239, 240, 299, 300, 600, 659, 660, 661, 10000} {
		c := NwaveCode(m)
		got, over := NwaveDuration(c)
		switch {
		case m > 660 && !over, m <= 660 && over:
			t.Errorf("NwaveCode(%d) = %d: overflow %v", m, c, over)
		case m >= 0 && m <= 660 && (got > m || got < m-60):
			t.Errorf("NwaveCode(%d) = %d, which is %d min", m, c, got)
		}
	}
	for c := range byte(128) {
		if d, _ := NwaveDuration(c); NwaveCode(d) != c && c != 127 {
			t.Errorf("NwaveCode(NwaveDuration(%d) = %d) = %d", c, d, NwaveCode(d))
		}
	}
}

// checkErr fails t unless err is an EINVALID error containing wantErr, or
// nil when wantErr is empty; it reports whether there is a result to check.
func checkErr(t *testing.T, err error, wantErr string) bool {
	t.Helper()
	if wantErr != "" {
		if err == nil || occupancy.ErrorCode(err) != occupancy.EINVALID || !strings.Contains(occupancy.ErrorMessage(err), wantErr) {
			t.Fatalf("error = %v, want EINVALID containing %q", err, wantErr)
		}
		return false
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	return true
}

// checkFrame compares a decoded frame or its error with the expected ones.
func checkFrame(t *testing.T, got Frame, err error, want Frame, wantErr string) {
	t.Helper()
	if !checkErr(t, err, wantErr) {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("frame = %s, want %s", fmtFrame(got), fmtFrame(want))
	}
}

func fmtFrame(f Frame) string {
	temp := "nil"
	if f.TempC != nil {
		temp = fmt.Sprint(*f.TempC)
	}
	f.TempC = nil
	return fmt.Sprintf("%+v TempC=%s", f, temp)
}
