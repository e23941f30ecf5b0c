package ingest

import "strings"

// chirpStackUplink is a ChirpStack v4 uplink event, the fields parkd reads.
// Zero values may be absent (fCnt 0, confirmed false).
type chirpStackUplink struct {
	Time       string `json:"time"`
	DeviceInfo struct {
		DevEUI     string `json:"devEui"`
		DeviceName string `json:"deviceName"`
	} `json:"deviceInfo"`
	FCnt   uint32    `json:"fCnt"`
	FPort  int       `json:"fPort"`
	Data   string    `json:"data"`
	RxInfo []gateway `json:"rxInfo"`
}

// DecodeChirpStack parses a ChirpStack v4 uplink event (topic
// application/{application id}/device/{dev eui}/event/up). The DevEUI is
// deviceInfo.devEui (or, if absent, the topic's), the time "time", the frame
// "data" on fPort with counter fCnt (absent: 0). "object" is ignored. Every
// error is EINVALID.
func DecodeChirpStack(topic string, payload []byte) (Uplink, error) {
	var w chirpStackUplink
	if err := unmarshalEnvelope(payload, &w); err != nil {
		return Uplink{}, err
	}
	var up Uplink
	var err error
	eui := w.DeviceInfo.DevEUI
	if eui == "" {
		eui = chirpStackTopicEUI(topic)
	}
	if up.DevEUI, err = parseDevEUI("deviceInfo.devEui", eui); err != nil {
		return Uplink{}, err
	}
	if up.ReceivedAt, err = parseReceivedAt("time", w.Time); err != nil {
		return Uplink{}, err
	}
	if up.FPort, err = parsePort("fPort", w.FPort); err != nil {
		return Uplink{}, err
	}
	up.FCnt = w.FCnt
	if up.Payload, err = parseFrame("data", w.Data); err != nil {
		return Uplink{}, err
	}
	up.RSSI, up.SNR = bestGateway(w.RxInfo)
	return up, nil
}

// chirpStackTopicEUI returns the {dev eui} of .../device/{dev eui}/event/up,
// or "".
func chirpStackTopicEUI(topic string) string {
	parts := strings.Split(topic, "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "device" {
			return parts[i+1]
		}
	}
	return ""
}
