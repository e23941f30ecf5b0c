package codec_test

import (
	"fmt"
	"time"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

func ExampleDecodeNative() {
	r, err := codec.DecodeNative("parking/v1/sensors/S-000001/up",
		[]byte(`{"occupied": true, "ts": "2026-11-25T08:00:00.123Z", "seq": 42, "kind": "status", "battery_mv": 3600}`))
	fmt.Println(r.SensorID, r.Occupied, r.TS.Format(time.RFC3339Nano), r.Seq, r.Kind, r.BatteryMV, err)

	_, err = codec.DecodeNative("parking/v1/sensors/S-000001/up", []byte(`{"occupied": "yes"}`))
	fmt.Println(occupancy.ErrorCode(err), occupancy.ErrorMessage(err))
	// Output:
	// S-000001 true 2026-11-25T08:00:00.123Z 42 status 3600 <nil>
	// invalid "occupied" must be true or false, not "yes"
}

func ExampleEncodeNative() {
	temp := 21.5
	r := occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: time.Date(2026, 11, 25, 8, 0, 0, 123e6, time.UTC),
		Seq: 42, Kind: occupancy.ReadingStatus, BatteryMV: 3600, TempC: &temp}
	fmt.Println(codec.Topic(r.SensorID))
	fmt.Printf("%s\n", codec.EncodeNative(r))
	// Output:
	// parking/v1/sensors/S-000001/up
	// {"occupied":true,"ts":"2026-11-25T08:00:00.123Z","seq":42,"kind":"status","battery_mv":3600,"temp_c":21.5}
}

// An Nwave NPS405 heartbeat in a The Things Stack uplink, and back.
func ExampleEncodeTTS() {
	_, frame, err := codec.EncodeNwaveNPS405(codec.Frame{Kind: codec.FrameHeartbeat, Occupied: true, BatteryMV: 3300})
	if err != nil {
		fmt.Println(err)
		return
	}
	up := codec.Uplink{DevEUI: "70b3d57ed0065a01", ReceivedAt: time.Date(2026, 11, 25, 8, 0, 1, 0, time.UTC),
		FCnt: 1187, FPort: codec.PortHeartbeat, Payload: frame}
	p := codec.EncodeTTS(up, codec.Origin{DeviceID: "qa-z01-0101"})
	fmt.Printf("%s\n", p)
	got, _ := codec.DecodeTTS(codec.TTSTopic("qiuai-parking", "qa-z01-0101"), p)
	f, _ := codec.DecodeNwaveNPS405(got.FPort, got.Payload)
	fmt.Println(got.DevEUI, got.FCnt, f.Kind, f.Occupied, f.BatteryMV, *f.TempC)
	// Output:
	// {"end_device_ids":{"device_id":"qa-z01-0101","dev_eui":"70B3D57ED0065A01"},"received_at":"2026-11-25T08:00:01Z","uplink_message":{"f_port":2,"f_cnt":1187,"frm_payload":"AcgA"}}
	// 70b3d57ed0065a01 1187 heartbeat true 3300 10
}
