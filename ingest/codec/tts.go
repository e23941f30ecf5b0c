package codec

import (
	"strconv"
	"strings"
)

// TTSFilter is the subscription filter of every uplink of The Things Stack.
const TTSFilter = "v3/+/devices/+/up"

// TTSTopic returns the topic of a device's uplinks on The Things Stack:
// application is "{application id}@{tenant id}", or the application id
// alone on an open-source deployment.
func TTSTopic(application, deviceID string) string {
	return "v3/" + application + "/devices/" + deviceID + "/up"
}

// ttsUplink is The Things Stack v3 uplink message, the fields parkd reads.
// The Things Stack leaves out fields equal to 0, "" or false.
type ttsUplink struct {
	EndDeviceIDs struct {
		DeviceID string `json:"device_id"`
		DevEUI   string `json:"dev_eui"`
	} `json:"end_device_ids"`
	ReceivedAt    string `json:"received_at"`
	UplinkMessage *struct {
		FPort      int       `json:"f_port"`
		FCnt       uint32    `json:"f_cnt"`
		FRMPayload string    `json:"frm_payload"`
		RxMetadata []gateway `json:"rx_metadata"`
	} `json:"uplink_message"`
}

// DecodeTTS parses an uplink message of The Things Stack v3 (topic
// v3/{application id}[@{tenant id}]/devices/{device id}/up). The DevEUI is
// end_device_ids.dev_eui, the time received_at, the frame
// uplink_message.frm_payload on uplink_message.f_port with counter
// uplink_message.f_cnt (absent: 0). decoded_payload is ignored. Every error
// is EINVALID.
func DecodeTTS(topic string, payload []byte) (Uplink, error) {
	var w ttsUplink
	if err := unmarshalEnvelope(payload, &w); err != nil {
		return Uplink{}, err
	}
	raw := rawUplink{devEUI: w.EndDeviceIDs.DevEUI, receivedAt: w.ReceivedAt,
		names: [4]string{"end_device_ids.dev_eui", "received_at", "uplink_message.f_port", "uplink_message.frm_payload"}}
	if m := w.UplinkMessage; m != nil {
		raw.port, raw.fcnt, raw.frame, raw.gateways = m.FPort, m.FCnt, m.FRMPayload, m.RxMetadata
	}
	up, err := raw.uplink()
	switch {
	case err != nil:
		return Uplink{}, err
	case w.UplinkMessage == nil: // checked after the device and time, which errors name first
		return Uplink{}, errorf("uplink_message is required")
	}
	return up, nil
}

// EncodeTTS returns up as The Things Stack v3 publishes it, with o's names
// and settings: the DevEUI in upper case, f_port, f_cnt and frm_payload
// left out when 0 or empty, one gateway in rx_metadata when up has an RSSI
// or SNR (a zero SNR is written, where the stack would leave it out: both
// decode alike), and settings when o has a frequency. DecodeTTS gives up
// back.
func EncodeTTS(up Uplink, o Origin) []byte {
	b := append(make([]byte, 0, 512), `{"end_device_ids":{`...)
	b = optField(b, "device_id", o.DeviceID)
	if o.Application != "" {
		b = append(member(b, "application_ids"), '{')
		b = append(field(b, "application_id", o.Application), '}')
	}
	b = append(field(b, "dev_eui", strings.ToUpper(up.DevEUI)), '}')
	b = appendTime(b, "received_at", up.ReceivedAt)
	b = append(member(b, "uplink_message"), '{')
	b = optInt(b, "f_port", int64(up.FPort))
	b = optInt(b, "f_cnt", int64(up.FCnt))
	b = appendFrame(b, "frm_payload", up.Payload)
	b = appendTTSGateway(b, &up, o.Gateway)
	return append(appendTTSSettings(b, o), '}', '}')
}

// appendTTSGateway appends rx_metadata with one gateway, if up has an RSSI
// or SNR.
func appendTTSGateway(b []byte, up *Uplink, gatewayID string) []byte {
	if up.RSSI == nil && up.SNR == nil {
		return b
	}
	b = append(member(b, "rx_metadata"), '[', '{')
	if gatewayID != "" {
		b = append(member(b, "gateway_ids"), '{')
		b = append(field(b, "gateway_id", gatewayID), '}')
	}
	return append(appendRadio(b, up, true), '}', ']')
}

// appendTTSSettings appends settings (data rate and frequency), if o has a
// frequency. The stack writes the frequency as a string.
func appendTTSSettings(b []byte, o Origin) []byte {
	if o.FrequencyHz == 0 {
		return b
	}
	b = append(member(b, "settings"), '{')
	if o.SpreadingFactor != 0 || o.BandwidthHz != 0 {
		b = append(member(b, "data_rate"), '{')
		b = append(member(b, "lora"), '{')
		b = optInt(b, "bandwidth", int64(o.BandwidthHz))
		b = append(optInt(b, "spreading_factor", int64(o.SpreadingFactor)), '}', '}')
	}
	b = append(member(b, "frequency"), '"')
	b = strconv.AppendInt(b, int64(o.FrequencyHz), 10)
	return append(b, '"', '}')
}
