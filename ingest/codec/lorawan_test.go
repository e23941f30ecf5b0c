package codec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Topics as the network servers publish them.
const (
	ttsTopic        = "v3/qiuai-parking@qiuai/devices/qa-z01-0101/up"
	chirpStackTopic = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0004a30b001c2f3e/event/up"
)

// readCapture returns a captured uplink from testdata/lorawan.
func readCapture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "lorawan", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeTTS(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    Uplink
		wantErr string
	}{
		{"captured heartbeat, two gateways", string(readCapture(t, "tts-heartbeat.json")), Uplink{
			DevEUI: "70b3d57ed0065a01", ReceivedAt: time.Date(2026, 11, 25, 8, 0, 1, 234567891, time.UTC),
			FCnt: 1187, FPort: 2, Payload: []byte{0x01, 0xc8, 0x17}, RSSI: intp(-97), SNR: f64(7.25)}, ""},
		{"captured start-up, f_cnt 0 and snr 0 left out", string(readCapture(t, "tts-startup-fcnt0.json")), Uplink{
			DevEUI: "70b3d57ed0065a02", ReceivedAt: time.Date(2026, 11, 25, 8, 5, 0, 500000000, time.UTC),
			FCnt: 0, FPort: 3, Payload: boschStartup([3]byte{1, 4, 2}, 1, 1), RSSI: intp(-80), SNR: f64(0)}, ""},
		{"no rx metadata, offset time", `{"end_device_ids":{"dev_eui":"0004A30B001C2F3E"},"received_at":"2026-11-25T16:00:00+08:00",
			"uplink_message":{"f_port":1,"f_cnt":7,"frm_payload":"AQ"}}`, Uplink{
			DevEUI: "0004a30b001c2f3e", ReceivedAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC),
			FCnt: 7, FPort: 1, Payload: []byte{1}}, ""},
		{"port left out (0)", `{"end_device_ids":{"dev_eui":"0004A30B001C2F3E"},"received_at":"2026-11-25T08:00:00Z",
			"uplink_message":{"frm_payload":"AQ=="}}`, Uplink{
			DevEUI: "0004a30b001c2f3e", ReceivedAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), Payload: []byte{1}}, ""},
		{"no dev_eui", `{"end_device_ids":{"device_id":"x"},"received_at":"2026-11-25T08:00:00Z","uplink_message":{"f_port":1,"frm_payload":"AQ=="}}`,
			Uplink{}, "end_device_ids.dev_eui is required"},
		{"short dev_eui", `{"end_device_ids":{"dev_eui":"70B3D57ED0065A"},"received_at":"2026-11-25T08:00:00Z","uplink_message":{"f_port":1,"frm_payload":"AQ=="}}`,
			Uplink{}, `end_device_ids.dev_eui "70B3D57ED0065A" is not 16 hex digits`},
		{"no received_at", `{"end_device_ids":{"dev_eui":"70B3D57ED0065A01"},"uplink_message":{"f_port":1,"frm_payload":"AQ=="}}`,
			Uplink{}, "received_at is required"},
		{"bad received_at", `{"end_device_ids":{"dev_eui":"70B3D57ED0065A01"},"received_at":"yesterday","uplink_message":{"f_port":1,"frm_payload":"AQ=="}}`,
			Uplink{}, `received_at "yesterday" is not an RFC 3339 time`},
		{"no uplink_message (a join accept)", `{"end_device_ids":{"dev_eui":"70B3D57ED0065A01"},"received_at":"2026-11-25T08:00:00Z","join_accept":{}}`,
			Uplink{}, "uplink_message is required"},
		{"frm_payload not base64", `{"end_device_ids":{"dev_eui":"70B3D57ED0065A01"},"received_at":"2026-11-25T08:00:00Z","uplink_message":{"f_port":1,"frm_payload":"!!"}}`,
			Uplink{}, "uplink_message.frm_payload is not base64"},
		{"negative f_cnt", `{"end_device_ids":{"dev_eui":"70B3D57ED0065A01"},"received_at":"2026-11-25T08:00:00Z","uplink_message":{"f_port":1,"f_cnt":-1,"frm_payload":"AQ=="}}`,
			Uplink{}, "f_cnt"},
		{"f_port 256", `{"end_device_ids":{"dev_eui":"70B3D57ED0065A01"},"received_at":"2026-11-25T08:00:00Z","uplink_message":{"f_port":256,"frm_payload":"AQ=="}}`,
			Uplink{}, "uplink_message.f_port 256 is out of range"},
		{"not JSON", `<xml/>`, Uplink{}, "payload is not valid JSON"},
		{"an array", `[1,2]`, Uplink{}, "payload must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTTS(ttsTopic, []byte(tt.payload))
			checkDecoded(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestDecodeChirpStack(t *testing.T) {
	tests := []struct {
		name    string
		topic   string
		payload string
		want    Uplink
		wantErr string
	}{
		{"captured status change", chirpStackTopic, string(readCapture(t, "chirpstack-status.json")), Uplink{
			DevEUI: "0004a30b001c2f3e", ReceivedAt: time.Date(2026, 11, 25, 8, 0, 2, 345678000, time.UTC),
			FCnt: 10, FPort: 1, Payload: []byte{0xf3}, RSSI: intp(-101), SNR: f64(4.8)}, ""},
		{"captured heartbeat, fCnt 0 left out, tie on RSSI", chirpStackTopic, string(readCapture(t, "chirpstack-heartbeat-nofcnt.json")), Uplink{
			DevEUI: "0004a30b001c2f3f", ReceivedAt: time.Date(2026, 11, 25, 8, 10, 0, 0, time.UTC),
			FPort: 2, Payload: []byte{0x01}, RSSI: intp(-70), SNR: f64(11.5)}, ""},
		{"time with nanoseconds and +00:00, as ChirpStack writes it", chirpStackTopic,
			`{"time":"2022-07-18T09:34:15.775023242+00:00","deviceInfo":{"devEui":"0004a30b001c2f3e"},"fCnt":4,"fPort":1,"data":"qg==",` +
				`"rxInfo":[{"gatewayId":"0016c001f153a14c","rssi":-36,"snr":10.5,"crcStatus":"CRC_OK"}]}`, Uplink{
				DevEUI: "0004a30b001c2f3e", ReceivedAt: time.Date(2022, 7, 18, 9, 34, 15, 775023242, time.UTC),
				FCnt: 4, FPort: 1, Payload: []byte{0xaa}, RSSI: intp(-36), SNR: f64(10.5)}, ""},
		{"DevEUI from the topic", "application/a/device/0004A30B001C2F40/event/up",
			`{"time":"2026-11-25T08:00:00Z","fPort":1,"data":"AA=="}`, Uplink{
				DevEUI: "0004a30b001c2f40", ReceivedAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), FPort: 1, Payload: []byte{0}}, ""},
		{"no DevEUI anywhere", "chirpstack/up", `{"time":"2026-11-25T08:00:00Z","fPort":1,"data":"AA=="}`,
			Uplink{}, "deviceInfo.devEui is required"},
		{"no time", chirpStackTopic, `{"deviceInfo":{"devEui":"0004a30b001c2f3e"},"fPort":1,"data":"AA=="}`,
			Uplink{}, "time is required"},
		{"data not base64", chirpStackTopic, `{"time":"2026-11-25T08:00:00Z","deviceInfo":{"devEui":"0004a30b001c2f3e"},"fPort":1,"data":"A A"}`,
			Uplink{}, "data is not base64"},
		{"fCnt a string", chirpStackTopic, `{"time":"2026-11-25T08:00:00Z","deviceInfo":{"devEui":"0004a30b001c2f3e"},"fCnt":"3","fPort":1,"data":"AA=="}`,
			Uplink{}, `"fCnt" must be uint32`},
		{"empty", chirpStackTopic, ``, Uplink{}, "payload is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeChirpStack(tt.topic, []byte(tt.payload))
			checkDecoded(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func checkDecoded(t *testing.T, got Uplink, err error, want Uplink, wantErr string) {
	t.Helper()
	if !checkErr(t, err, wantErr) {
		return
	}
	if !equalUplink(got, want) {
		t.Errorf("uplink\n got %s\nwant %s", fmtUplink(got), fmtUplink(want))
	}
}

// equalUplink compares uplinks, the payload as bytes (nil equals empty) and
// RSSI and SNR by value.
func equalUplink(a, b Uplink) bool {
	return a.DevEUI == b.DevEUI && a.ReceivedAt.Equal(b.ReceivedAt) && a.FCnt == b.FCnt && a.FPort == b.FPort &&
		bytes.Equal(a.Payload, b.Payload) && fmtUplink(a) == fmtUplink(b)
}

func fmtUplink(u Uplink) string {
	rssi, snr := "nil", "nil"
	if u.RSSI != nil {
		rssi = fmt.Sprint(*u.RSSI)
	}
	if u.SNR != nil {
		snr = fmt.Sprint(*u.SNR)
	}
	return fmt.Sprintf("%s %s fcnt=%d port=%d payload=%x rssi=%s snr=%s",
		u.DevEUI, u.ReceivedAt.Format(time.RFC3339Nano), u.FCnt, u.FPort, u.Payload, rssi, snr)
}

// loraRegistry has one zone with a space per LoRaWAN model and a native one.
func loraRegistry(t testing.TB) *occupancy.Registry {
	t.Helper()
	reg, err := occupancy.LoadRegistry(filepath.Join("testdata", "lorawan", "registry"))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestLoRaWANDecoder(t *testing.T) {
	reg := loraRegistry(t)
	tts, cs := LoRaWANDecoder(DecodeTTS, reg), LoRaWANDecoder(DecodeChirpStack, reg)
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		dec     Decoder
		topic   string
		payload string
		want    occupancy.Reading
		wantErr string // "unknown" for an unknown sensor
	}{
		{"TTS NPS405 heartbeat: battery, temperature, best gateway; decoded_payload ignored", tts, ttsTopic,
			string(readCapture(t, "tts-heartbeat.json")), occupancy.Reading{
				SensorID: "70b3d57ed0065a01", Occupied: true, TS: time.Date(2026, 11, 25, 8, 0, 1, 234567891, time.UTC),
				Seq: 1187, Kind: occupancy.ReadingHeartbeat, BatteryMV: 3300, TempC: f64(21.5), RSSI: intp(-97), SNR: f64(7.25)}, ""},
		{"TTS Bosch start-up: firmware, reset cause, f_cnt 0", tts, ttsTopic,
			string(readCapture(t, "tts-startup-fcnt0.json")), occupancy.Reading{
				SensorID: "70b3d57ed0065a02", Occupied: true, TS: time.Date(2026, 11, 25, 8, 5, 0, 500000000, time.UTC),
				Kind: occupancy.ReadingStatus, Firmware: "1.4.2", ResetCause: occupancy.ResetWatchdog, RSSI: intp(-80), SNR: f64(0)}, ""},
		{"ChirpStack NPS405 status change; object ignored", cs, chirpStackTopic,
			string(readCapture(t, "chirpstack-status.json")), occupancy.Reading{
				SensorID: "0004a30b001c2f3e", Occupied: true, TS: time.Date(2026, 11, 25, 8, 0, 2, 345678000, time.UTC),
				Seq: 10, Kind: occupancy.ReadingStatus, RSSI: intp(-101), SNR: f64(4.8)}, ""},
		{"ChirpStack NPS310 heartbeat, upper-case DevEUI", cs, chirpStackTopic,
			string(readCapture(t, "chirpstack-heartbeat-nofcnt.json")), occupancy.Reading{
				SensorID: "0004a30b001c2f3f", Occupied: true, TS: time.Date(2026, 11, 25, 8, 10, 0, 0, time.UTC),
				Kind: occupancy.ReadingHeartbeat, RSSI: intp(-70), SNR: f64(11.5)}, ""},
		{"unknown DevEUI", cs, chirpStackTopic, csMsg("0004a30b00ffffff", t0, 1, 1, "AQ=="), occupancy.Reading{}, "unknown"},
		{"DevEUI of a native sensor", cs, chirpStackTopic, csMsg("abcdef0123456789", t0, 1, 1, "AQ=="), occupancy.Reading{},
			"is a native sensor, not a LoRaWAN device"},
		{"NPS310 sent a 3-byte heartbeat", cs, chirpStackTopic, csMsg("0004a30b001c2f3f", t0, 1, 2, "AQID"), occupancy.Reading{},
			"nwave-nps310 heartbeat frame on port 2 is 3 bytes, want 1"},
		{"Bosch on port 5", tts, ttsTopic, ttsMsg("70b3d57ed0065a02", t0, 1, 5, "AQ=="), occupancy.Reading{},
			"bosch-tps110 frame on unknown port 5"},
		{"empty frame", tts, ttsTopic, ttsMsg("70b3d57ed0065a02", t0, 1, 1, ""), occupancy.Reading{},
			"status frame on port 1 is 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.dec(tt.topic, []byte(tt.payload))
			var unknown *UnknownSensorError
			switch {
			case tt.wantErr == "unknown":
				if !errors.As(err, &unknown) {
					t.Fatalf("error = %v, want an unknown sensor", err)
				}
				return
			case tt.wantErr != "":
				if err == nil || occupancy.ErrorCode(err) != occupancy.EINVALID || !strings.Contains(occupancy.ErrorMessage(err), tt.wantErr) {
					t.Fatalf("error = %v, want EINVALID containing %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reading\n got %+v\nwant %+v", got, tt.want)
			}
			if err := got.Validate(got.TS); err != nil {
				t.Errorf("reading fails Validate: %v", err)
			}
		})
	}
}
