package codec

import "strings"

// ChirpStackFilter is the subscription filter of every uplink event of
// ChirpStack v4.
const ChirpStackFilter = "application/+/device/+/event/up"

// ChirpStackTopic returns the topic of a device's uplink events on
// ChirpStack v4: application is the application id (a UUID), devEUI the
// device's EUI in lower-case hex.
func ChirpStackTopic(application, devEUI string) string {
	return "application/" + application + "/device/" + devEUI + "/event/up"
}

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
	eui := w.DeviceInfo.DevEUI
	if eui == "" {
		eui = chirpStackTopicEUI(topic)
	}
	raw := rawUplink{devEUI: eui, receivedAt: w.Time, port: w.FPort, fcnt: w.FCnt, frame: w.Data, gateways: w.RxInfo,
		names: [4]string{"deviceInfo.devEui", "time", "fPort", "data"}}
	return raw.uplink()
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

// EncodeChirpStack returns up as ChirpStack v4 publishes its uplink event,
// with o's names: the DevEUI as given, fCnt, fPort and data left out when 0
// or empty, one gateway in rxInfo when up has an RSSI or SNR, and no
// txInfo. DecodeChirpStack gives up back.
func EncodeChirpStack(up Uplink, o Origin) []byte {
	b := append(make([]byte, 0, 512), '{')
	b = optField(b, "deduplicationId", o.DeduplicationID)
	b = appendTime(b, "time", up.ReceivedAt)
	b = append(member(b, "deviceInfo"), '{')
	b = optField(b, "tenantName", o.Tenant)
	b = optField(b, "applicationId", o.Application)
	b = optField(b, "applicationName", o.ApplicationName)
	b = optField(b, "deviceName", o.DeviceID)
	b = field(b, "devEui", up.DevEUI)
	b = append(member(b, "tags"), '{', '}', '}')
	b = optInt(b, "fCnt", int64(up.FCnt))
	b = optInt(b, "fPort", int64(up.FPort))
	b = appendFrame(b, "data", up.Payload)
	return append(appendChirpStackGateway(b, &up, o.Gateway), '}')
}

// appendChirpStackGateway appends rxInfo with one gateway, if up has an
// RSSI or SNR.
func appendChirpStackGateway(b []byte, up *Uplink, gatewayID string) []byte {
	if up.RSSI == nil && up.SNR == nil {
		return b
	}
	b = append(member(b, "rxInfo"), '[', '{')
	b = optField(b, "gatewayId", gatewayID)
	return append(appendRadio(b, up, false), '}', ']')
}
