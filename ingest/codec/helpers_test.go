package codec

import (
	"fmt"
	"time"
)

// ttsMsg returns a minimal The Things Stack uplink: zero f_cnt and f_port
// are left out, as the stack does.
func ttsMsg(devEUI string, at time.Time, fcnt uint32, port int, frame string) string {
	um := fmt.Sprintf(`"frm_payload":%q,"rx_metadata":[{"gateway_ids":{"gateway_id":"gw1"},"rssi":-90,"snr":5.5}]`, frame)
	if port != 0 {
		um = fmt.Sprintf(`"f_port":%d,`, port) + um
	}
	if fcnt != 0 {
		um = fmt.Sprintf(`"f_cnt":%d,`, fcnt) + um
	}
	return fmt.Sprintf(`{"end_device_ids":{"device_id":"dev-%s","application_ids":{"application_id":"qiuai"},"dev_eui":%q},`+
		`"received_at":%q,"uplink_message":{%s,"settings":{"frequency":"470300000"}}}`,
		devEUI, devEUI, at.UTC().Format(time.RFC3339Nano), um)
}

// csMsg returns a minimal ChirpStack v4 uplink event; fCnt 0 is left out.
func csMsg(devEUI string, at time.Time, fcnt uint32, port int, frame string) string {
	fc := ""
	if fcnt != 0 {
		fc = fmt.Sprintf(`"fCnt":%d,`, fcnt)
	}
	return fmt.Sprintf(`{"deduplicationId":"3ac7e3c4-4401-4b8d-9386-a5c902f9202d","time":%q,`+
		`"deviceInfo":{"deviceName":"dev-%s","devEui":%q,"tags":{}},%s"fPort":%d,"data":%q,`+
		`"rxInfo":[{"gatewayId":"0016c001f153a14c","rssi":-105,"snr":-2.25}]}`,
		at.UTC().Format(time.RFC3339Nano), devEUI, devEUI, fc, port, frame)
}
