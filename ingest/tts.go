package ingest

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
	var up Uplink
	var err error
	if up.DevEUI, err = parseDevEUI("end_device_ids.dev_eui", w.EndDeviceIDs.DevEUI); err != nil {
		return Uplink{}, err
	}
	if up.ReceivedAt, err = parseReceivedAt("received_at", w.ReceivedAt); err != nil {
		return Uplink{}, err
	}
	m := w.UplinkMessage
	if m == nil {
		return Uplink{}, errorf("uplink_message is required")
	}
	if up.FPort, err = parsePort("uplink_message.f_port", m.FPort); err != nil {
		return Uplink{}, err
	}
	up.FCnt = m.FCnt
	if up.Payload, err = parseFrame("uplink_message.frm_payload", m.FRMPayload); err != nil {
		return Uplink{}, err
	}
	up.RSSI, up.SNR = bestGateway(m.RxMetadata)
	return up, nil
}
