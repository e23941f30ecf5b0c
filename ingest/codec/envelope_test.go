package codec

import (
	"strings"
	"testing"
	"time"
)

// testOrigin names a device the way the simulator does.
var testOrigin = Origin{DeviceID: "qa-z01-0101", Application: "qiuai-parking", ApplicationName: "parking", Tenant: "Qiuai",
	Gateway: "0016c001f153a14c", DeduplicationID: "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
	FrequencyHz: 470300000, BandwidthHz: 125000, SpreadingFactor: 9}

// TestEnvelopeRoundTrip checks that each envelope's Encode then Decode
// gives the uplink back, with fields left out as the network server leaves
// them out.
func TestEnvelopeRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 0, 1, 234567891, time.UTC)
	uplinks := []struct {
		name    string
		up      Uplink
		absent  []string // lower-case parts of members Encode must leave out
		present []string
	}{
		{"every field", Uplink{DevEUI: "70b3d57ed0065a01", ReceivedAt: at, FCnt: 1187, FPort: 2,
			Payload: []byte{0x01, 0xc8, 0x17}, RSSI: intp(-97), SNR: f64(-7.25)}, nil, []string{"cnt", "ort"}},
		{"counter 0 and port 0 left out", Uplink{DevEUI: "0004a30b001c2f3e", ReceivedAt: at.Truncate(time.Second),
			Payload: []byte{1}, RSSI: intp(-120), SNR: f64(0)}, []string{"cnt", "ort"}, nil},
		{"no reception, no frame", Uplink{DevEUI: "0004a30b001c2f3e", ReceivedAt: at, FCnt: 7, FPort: 1},
			[]string{"rssi", "snr", "frm_payload\"", "data\""}, nil},
	}
	envelopes := []struct {
		name   string
		enc    envelopeEncoder
		dec    Envelope
		topic  string
		origin Origin
	}{
		{"TTS", EncodeTTS, DecodeTTS, ttsTopic, testOrigin},
		{"TTS without origin", EncodeTTS, DecodeTTS, ttsTopic, Origin{}},
		{"ChirpStack", EncodeChirpStack, DecodeChirpStack, chirpStackTopic, testOrigin},
		{"ChirpStack without origin", EncodeChirpStack, DecodeChirpStack, "chirpstack/up", Origin{}},
	}
	for _, e := range envelopes {
		for _, u := range uplinks {
			t.Run(e.name+": "+u.name, func(t *testing.T) {
				p := e.enc(u.up, e.origin)
				got, err := e.dec(e.topic, p)
				if err != nil {
					t.Fatalf("%s does not decode: %v", p, err)
				}
				if !equalUplink(got, u.up) {
					t.Errorf("round trip of %s:\n got %s\nwant %s", p, fmtUplink(got), fmtUplink(u.up))
				}
				lower := strings.ToLower(string(p))
				for _, m := range u.absent {
					if strings.Contains(lower, m) {
						t.Errorf("%s has %q, which must be left out", p, m)
					}
				}
				for _, m := range u.present {
					if !strings.Contains(lower, m) {
						t.Errorf("%s lacks %q", p, m)
					}
				}
			})
		}
	}
}

// TestEncodeEnvelopeLayout pins the bytes of each envelope for one uplink:
// the members and their order as the network servers write them.
func TestEncodeEnvelopeLayout(t *testing.T) {
	up := Uplink{DevEUI: "70b3d57ed000008a", ReceivedAt: time.Date(2026, 11, 24, 2, 0, 0, 1_000_000, time.UTC),
		FCnt: 3, FPort: 2, Payload: []byte{1, 0x17}, RSSI: intp(-90), SNR: f64(2)}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"TTS", EncodeTTS(up, testOrigin), `{"end_device_ids":{"device_id":"qa-z01-0101","application_ids":{"application_id":"qiuai-parking"},` +
			`"dev_eui":"70B3D57ED000008A"},"received_at":"2026-11-24T02:00:00.001Z","uplink_message":{"f_port":2,"f_cnt":3,` +
			`"frm_payload":"ARc=","rx_metadata":[{"gateway_ids":{"gateway_id":"0016c001f153a14c"},"rssi":-90,"channel_rssi":-90,"snr":2.0}],` +
			`"settings":{"data_rate":{"lora":{"bandwidth":125000,"spreading_factor":9}},"frequency":"470300000"}}}`},
		{"ChirpStack", EncodeChirpStack(up, testOrigin), `{"deduplicationId":"3ac7e3c4-4401-4b8d-9386-a5c902f9202d",` +
			`"time":"2026-11-24T02:00:00.001Z","deviceInfo":{"tenantName":"Qiuai","applicationId":"qiuai-parking",` +
			`"applicationName":"parking","deviceName":"qa-z01-0101","devEui":"70b3d57ed000008a","tags":{}},"fCnt":3,"fPort":2,` +
			`"data":"ARc=","rxInfo":[{"gatewayId":"0016c001f153a14c","rssi":-90,"snr":2.0}]}`},
	}
	for _, tc := range tests {
		if string(tc.got) != tc.want {
			t.Errorf("%s =\n %s, want\n %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestEnvelopeTopics(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{TTSTopic("qiuai-parking@qiuai", "qa-z01-0101"), "v3/qiuai-parking@qiuai/devices/qa-z01-0101/up"},
		{ChirpStackTopic("17c82e96-be03-4f38-aef3-f83d48582d97", "0004a30b001c2f3e"), chirpStackTopic},
		{Topic("S-000001"), testTopic},
	} {
		if tc.got != tc.want {
			t.Errorf("topic %q, want %q", tc.got, tc.want)
		}
	}
	if eui := chirpStackTopicEUI(ChirpStackTopic("app", "0004a30b001c2f3e")); eui != "0004a30b001c2f3e" {
		t.Errorf("DevEUI of a ChirpStackTopic = %q", eui)
	}
}

func BenchmarkDecodeTTS(b *testing.B) {
	p := readCapture(b, "tts-heartbeat.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := DecodeTTS(ttsTopic, p); err != nil {
			b.Fatal(err)
		}
	}
}
