package codec

import (
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Upstream examples: frames and envelopes as their makers document them,
// each with the values the source says it carries.
//
// Frames: the codec examples of The Things Network's device repository,
//   - https://github.com/TheThingsNetwork/lorawan-devices/blob/3410a4b514782f139bb5d4e6c9cb27fe01971022/vendor/bosch/tps110-0292-codec.yaml
//   - https://github.com/TheThingsNetwork/lorawan-devices/blob/74279b603e52483873390f57188903111fa3a17e/vendor/nwave/nps310sm-codec.yaml
//   - https://github.com/TheThingsNetwork/lorawan-devices/blob/2ed97bce0f2b64b8f9ca90d9e218ba8c618b758e/vendor/nwave/nps405-codec.yaml
//
// (That file's NPS405 heartbeat example is 6 bytes, where this package
// takes the 3 it reads; it is left out here.)
func TestUpstreamFrames(t *testing.T) {
	tests := []struct {
		name  string
		model occupancy.Model
		port  int
		b     []byte
		want  Frame
	}{
		{"bosch parking status", occupancy.ModelBoschTPS110, 1, []byte{1},
			Frame{Kind: FrameStatus, Occupied: true, PrevStateMin: -1}},
		{"bosch heartbeat", occupancy.ModelBoschTPS110, 2, []byte{1, 255},
			Frame{Kind: FrameHeartbeat, Occupied: true, TempC: f64(-1), PrevStateMin: -1}},
		{"bosch startup with codes 804 and 885", occupancy.ModelBoschTPS110, 3, []byte{0x24, 3, 0, 0, 0x75, 3, 0, 0, 0, 0, 0, 0, 0, 29, 2, 3, 1},
			Frame{Kind: FrameStartup, Occupied: true, Firmware: "0.29.2", ResetCause: occupancy.ResetSystemRequest, PrevStateMin: -1}},
		{"nps310 parking status", occupancy.ModelNwaveNPS310, 1, []byte{1},
			Frame{Kind: FrameStatus, Occupied: true}},
		{"nps310 heartbeat", occupancy.ModelNwaveNPS310, 2, []byte{0},
			Frame{Kind: FrameHeartbeat, PrevStateMin: -1}},
		{"nps310 startup", occupancy.ModelNwaveNPS310, 3, []byte{0x01, 0x0D, 0x00, 0x02, 0x00},
			Frame{Kind: FrameStartup, Firmware: "1.13.0", ResetCause: occupancy.ResetPowerOn, PrevStateMin: -1}},
		{"nps405 parking status, 74 min before", occupancy.ModelNwaveNPS405, 1, []byte{0x95},
			Frame{Kind: FrameStatus, Occupied: true, PrevStateMin: 74}},
		{"nps405 startup", occupancy.ModelNwaveNPS405, 3, []byte{0x02, 0x04, 0x09, 0x02, 0x00},
			Frame{Kind: FrameStartup, Firmware: "2.4.9", ResetCause: occupancy.ResetPowerOn, PrevStateMin: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc, _ := FrameCodecFor(tc.model)
			got, err := fc.Decode(tc.port, tc.b)
			checkFrame(t, got, err, tc.want, "")
		})
	}
}

// TestUpstreamEnvelopes decodes the uplink examples of the network servers'
// documentation, cut to the members that matter here (the rest are
// ignored):
//   - The Things Stack, "Uplink message example":
//     https://github.com/TheThingsIndustries/lorawan-stack-docs/blob/307211c054830b7c820c13ec93b9053c2891fe99/doc/content/integrations/data-formats/_index.md
//     (it has f_cnt but no f_port);
//   - ChirpStack v4, "up - Uplink event":
//     https://github.com/chirpstack/chirpstack-docs/blob/61b0b8f67c7bfea31bebcbbca1aa0c6bfb974198/src/chirpstack/integrations/events.md
func TestUpstreamEnvelopes(t *testing.T) {
	tts := `{"end_device_ids":{"device_id":"dev1","application_ids":{"application_id":"app1"},"dev_eui":"0004A30B001C0530",` +
		`"join_eui":"800000000000000C","dev_addr":"00BCB929"},"received_at":"2020-02-12T15:15:46.014773143Z",` +
		`"uplink_message":{"session_key_id":"AXA50tHUGUucuzS/bCGMNw==","f_cnt":1,"frm_payload":"gkHe",` +
		`"decoded_payload":{"temperature":1.0,"luminosity":0.64},"rx_metadata":[{"gateway_ids":{"gateway_id":"gtw1",` +
		`"eui":"9C5C8E00001A05C4"},"rssi":-35,"channel_rssi":-35,"snr":5}],"settings":{"frequency":"868300000"},` +
		`"received_at":"2020-02-12T15:15:45.789585559Z"}}`
	cs := `{"deduplicationId":"3ac7e3c4-4401-4b8d-9386-a5c902f9202d","time":"2022-07-18T09:34:15.775023242+00:00",` +
		`"deviceInfo":{"tenantName":"ChirpStack","applicationName":"Test application","deviceName":"Test device",` +
		`"devEui":"0101010101010101","tags":{"key":"value"}},"devAddr":"00189440","dr":1,"fPort":1,"data":"qg==",` +
		`"rxInfo":[{"gatewayId":"0016c001f153a14c","uplinkId":4217106255,"rssi":-36,"snr":10.5}],` +
		`"txInfo":{"frequency":867100000,"modulation":{"lora":{"bandwidth":125000,"spreadingFactor":11,"codeRate":"CR_4_5"}}}}`
	got, err := DecodeTTS("v3/app1/devices/dev1/up", []byte(tts))
	checkDecoded(t, got, err, Uplink{DevEUI: "0004a30b001c0530", ReceivedAt: time.Date(2020, 2, 12, 15, 15, 46, 14773143, time.UTC),
		FCnt: 1, Payload: []byte{0x82, 0x41, 0xde}, RSSI: intp(-35), SNR: f64(5)}, "")
	got, err = DecodeChirpStack("application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up", []byte(cs))
	checkDecoded(t, got, err, Uplink{DevEUI: "0101010101010101", ReceivedAt: time.Date(2022, 7, 18, 9, 34, 15, 775023242, time.UTC),
		FPort: 1, Payload: []byte{0xaa}, RSSI: intp(-36), SNR: f64(10.5)}, "")
}
