package codec

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

// checkFrameInvariants fails unless err is EINVALID with a message, or the
// frame is one a reading may carry.
func checkFrameInvariants(t *testing.T, port int, b []byte, f Frame, err error) {
	t.Helper()
	if err != nil {
		if occupancy.ErrorCode(err) != occupancy.EINVALID || occupancy.ErrorMessage(err) == "" {
			t.Fatalf("error %v is not EINVALID with a message", err)
		}
		return
	}
	if port < PortStatus || port > PortStartup || len(b) == 0 {
		t.Fatalf("port %d, %d bytes accepted", port, len(b))
	}
	occByte := b[0] // status and heartbeat: byte 0; start-up: the last byte
	if f.Kind == FrameStartup {
		occByte = b[len(b)-1]
	}
	if f.Occupied != (occByte&1 == 1) {
		t.Fatalf("occupied %v does not match the frame % x", f.Occupied, b)
	}
	if f.TempC != nil && (math.IsNaN(*f.TempC) || *f.TempC < -60 || *f.TempC > 100) {
		t.Fatalf("temperature %v out of range", *f.TempC)
	}
	if f.BatteryMV != 0 && (f.BatteryMV < 2500 || f.BatteryMV > 3520) {
		t.Fatalf("battery %d out of range", f.BatteryMV)
	}
	if f.Kind == FrameStatus && f.PrevStateMin > 661 {
		t.Fatalf("previous state %d min", f.PrevStateMin)
	}
}

// FuzzBoschTPS110 feeds arbitrary ports and bytes to the Bosch decoder.
// Seeds are in testdata/fuzz/FuzzBoschTPS110.
func FuzzBoschTPS110(f *testing.F) {
	f.Add(uint8(1), []byte{1})
	f.Add(uint8(2), []byte{0, 0xfb})
	f.Add(uint8(3), boschStartup([3]byte{1, 4, 2}, 1, 1))
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		fr, err := DecodeBoschTPS110(int(port), b)
		checkFrameInvariants(t, int(port), b, fr, err)
		checkFrameRoundTrip(t, FrameCodec{DecodeBoschTPS110, EncodeBoschTPS110}, fr, err)
	})
}

// FuzzNwave feeds arbitrary ports and bytes to both Nwave decoders. Seeds
// are in testdata/fuzz/FuzzNwave.
func FuzzNwave(f *testing.F) {
	f.Add(uint8(1), []byte{0xff})
	f.Add(uint8(2), []byte{1, 0xc8, 0x17})
	f.Add(uint8(3), []byte{3, 1, 7, 2, 1})
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		for _, fc := range []FrameCodec{{DecodeNwaveNPS405, EncodeNwaveNPS405}, {DecodeNwaveNPS310, EncodeNwaveNPS310}} {
			fr, err := fc.Decode(int(port), b)
			checkFrameInvariants(t, int(port), b, fr, err)
			checkFrameRoundTrip(t, fc, fr, err)
		}
	})
}

// checkFrameRoundTrip checks that a frame decoded without error encodes to
// bytes that decode to the same frame.
func checkFrameRoundTrip(t *testing.T, fc FrameCodec, f Frame, err error) {
	t.Helper()
	if err != nil {
		return
	}
	port, b, err := fc.Encode(f)
	if err != nil {
		t.Fatalf("decoded frame %s does not encode: %v", fmtFrame(f), err)
	}
	again, err := fc.Decode(port, b)
	if err != nil || !reflect.DeepEqual(again, f) {
		t.Fatalf("round trip of %s through port %d % x gave %s, %v", fmtFrame(f), port, b, fmtFrame(again), err)
	}
}

// fuzzEnvelope checks an envelope and the full LoRaWAN decoder on one
// message: nothing panics, errors are EINVALID (or an unknown sensor for
// the decoder), an accepted uplink survives a round trip through the
// envelope's encoder, and every reading passes Validate at its own time.
func fuzzEnvelope(t *testing.T, env Envelope, enc envelopeEncoder, dec Decoder, topic string, payload []byte) {
	up, err := env(topic, payload)
	if err != nil {
		if occupancy.ErrorCode(err) != occupancy.EINVALID || occupancy.ErrorMessage(err) == "" {
			t.Fatalf("envelope error %v is not EINVALID with a message", err)
		}
	} else {
		checkUplink(t, env, enc, topic, up)
	}
	r, err := dec(topic, payload)
	var unknown *UnknownSensorError
	switch {
	case errors.As(err, &unknown):
	case err != nil:
		if occupancy.ErrorCode(err) != occupancy.EINVALID || occupancy.ErrorMessage(err) == "" {
			t.Fatalf("decoder error %v is not EINVALID with a message", err)
		}
	default:
		if r.TS.Year() >= 2000 {
			if err := r.Validate(r.TS); err != nil {
				t.Fatalf("decoded reading %+v fails Validate: %v", r, err)
			}
		}
	}
}

// envelopeEncoder is EncodeTTS or EncodeChirpStack.
type envelopeEncoder func(Uplink, Origin) []byte

// checkUplink checks an uplink an envelope accepted: its fields are in
// range and, unless it has only one of RSSI and SNR (an absent one decodes
// as 0), encoding it gives bytes that decode to the same uplink.
func checkUplink(t *testing.T, env Envelope, enc envelopeEncoder, topic string, up Uplink) {
	t.Helper()
	if _, ok := occupancy.NormalizeDevEUI(up.DevEUI); !ok || up.ReceivedAt.IsZero() || up.FPort < 0 || up.FPort > 255 {
		t.Fatalf("accepted uplink %+v", up)
	}
	if (up.RSSI == nil) != (up.SNR == nil) {
		return
	}
	p := enc(up, Origin{})
	again, err := env(topic, p)
	if err != nil || !equalUplink(again, up) {
		t.Fatalf("round trip of %s through %s gave %s, %v", fmtUplink(up), p, fmtUplink(again), err)
	}
}

// FuzzTTS feeds arbitrary payloads to the The Things Stack envelope and
// decoder. Seeds are in testdata/fuzz/FuzzTTS.
func FuzzTTS(f *testing.F) {
	f.Add(readCapture(f, "tts-heartbeat.json"))
	f.Add(readCapture(f, "tts-startup-fcnt0.json"))
	dec := LoRaWANDecoder(DecodeTTS, loraRegistry(f))
	f.Fuzz(func(t *testing.T, payload []byte) {
		fuzzEnvelope(t, DecodeTTS, EncodeTTS, dec, ttsTopic, payload)
	})
}

// FuzzChirpStack feeds arbitrary topics and payloads to the ChirpStack
// envelope and decoder. Seeds are in testdata/fuzz/FuzzChirpStack.
func FuzzChirpStack(f *testing.F) {
	f.Add(chirpStackTopic, readCapture(f, "chirpstack-status.json"))
	f.Add("application/x/device/0004A30B001C2F3F/event/up", []byte(`{"time":"2026-11-25T08:00:00Z","fPort":2,"data":"AQ=="}`))
	dec := LoRaWANDecoder(DecodeChirpStack, loraRegistry(f))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzEnvelope(t, DecodeChirpStack, EncodeChirpStack, dec, topic, payload)
	})
}
