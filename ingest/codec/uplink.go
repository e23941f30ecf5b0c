package codec

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Uplink is one LoRaWAN uplink as a network server publishes it, reduced to
// what parkd uses.
type Uplink struct {
	DevEUI     string    // 16 lower-case hex digits
	ReceivedAt time.Time // the network server's receive time, UTC
	FCnt       uint32    // frame counter; 0 when absent
	FPort      int       // 0 when absent (a MAC-only frame)
	Payload    []byte    // the raw frame bytes (FRMPayload), decrypted
	RSSI       *int      // dBm at the best gateway; nil without rx metadata
	SNR        *float64  // dB at the best gateway; nil without rx metadata
}

// Origin is what an envelope says beside its Uplink: the network server's
// names for the device, its application and tenant, the gateway that heard
// it and the radio settings. The encoders write each field that is set, as
// the network server does; the decoders do not read them.
type Origin struct {
	DeviceID        string // The Things Stack device id; ChirpStack deviceInfo.deviceName
	Application     string // The Things Stack application id; ChirpStack application id (a UUID)
	ApplicationName string // ChirpStack only
	Tenant          string // ChirpStack tenant name
	Gateway         string // the gateway id (ChirpStack: its EUI, 16 hex digits)
	DeduplicationID string // ChirpStack only
	FrequencyHz     int    // The Things Stack settings only
	BandwidthHz     int    // The Things Stack settings only
	SpreadingFactor int    // The Things Stack settings only
}

// Envelope parses a network server's uplink message. Every error is
// EINVALID.
type Envelope func(topic string, payload []byte) (Uplink, error)

// rawUplink is what an envelope says of its uplink, as it says it, with
// the names of its members for errors.
type rawUplink struct {
	devEUI, receivedAt, frame string
	port                      int
	fcnt                      uint32
	gateways                  []gateway
	names                     [4]string // of devEUI, receivedAt, port and frame
}

// uplink checks and converts w into an Uplink. Every error is EINVALID.
func (w *rawUplink) uplink() (Uplink, error) {
	up := Uplink{FCnt: w.fcnt}
	var err error
	if up.DevEUI, err = parseDevEUI(w.names[0], w.devEUI); err != nil {
		return Uplink{}, err
	}
	if up.ReceivedAt, err = parseReceivedAt(w.names[1], w.receivedAt); err != nil {
		return Uplink{}, err
	}
	if up.FPort, err = parsePort(w.names[2], w.port); err != nil {
		return Uplink{}, err
	}
	if up.Payload, err = parseFrame(w.names[3], w.frame); err != nil {
		return Uplink{}, err
	}
	up.RSSI, up.SNR = bestGateway(w.gateways)
	return up, nil
}

// gateway is one gateway's reception of an uplink. Absent numbers are 0:
// The Things Stack leaves zero fields out.
type gateway struct {
	RSSI float64 `json:"rssi"`
	SNR  float64 `json:"snr"`
}

// bestGateway returns the RSSI and SNR of the strongest reception (highest
// RSSI, then highest SNR), or nils when there is none.
func bestGateway(gws []gateway) (*int, *float64) {
	if len(gws) == 0 {
		return nil, nil
	}
	best := gws[0]
	for _, g := range gws[1:] {
		if g.RSSI > best.RSSI || g.RSSI == best.RSSI && g.SNR > best.SNR {
			best = g
		}
	}
	rssi, snr := int(best.RSSI), best.SNR
	if best.RSSI < -200 || best.RSSI > 50 {
		return nil, plausibleSNR(snr)
	}
	return &rssi, plausibleSNR(snr)
}

// plausibleSNR returns &s if it is a plausible SNR, else nil.
func plausibleSNR(s float64) *float64 {
	if s < -50 || s > 50 {
		return nil
	}
	return &s
}

// parseDevEUI checks and lower-cases a DevEUI from an envelope.
func parseDevEUI(field, s string) (string, error) {
	if s == "" {
		return "", errorf("%s is required", field)
	}
	eui, ok := occupancy.NormalizeDevEUI(s)
	if !ok {
		return "", errorf("%s %q is not 16 hex digits", field, clip(s, 40))
	}
	return eui, nil
}

// parseReceivedAt parses a network server's RFC 3339 receive time.
func parseReceivedAt(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errorf("%s is required", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errorf("%s %q is not an RFC 3339 time", field, clip(s, 40))
	}
	return t.UTC(), nil
}

// parseFrame decodes base64 frame bytes; padding is optional.
func parseFrame(field, s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, errorf("%s is not base64: %v", field, err)
	}
	return b, nil
}

// parsePort checks a frame port.
func parsePort(field string, p int) (int, error) {
	if p < 0 || p > 255 {
		return 0, errorf("%s %d is out of range 0-255", field, p)
	}
	return p, nil
}

// unmarshalEnvelope checks the size and shape of payload and decodes it
// into v.
func unmarshalEnvelope(payload []byte, v any) error {
	if err := checkPayload(payload); err != nil {
		return err
	}
	if err := json.Unmarshal(payload, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errorf("%q must be %s, not %s", te.Field, te.Type.String(), te.Value)
		}
		return jsonError(err)
	}
	return nil
}

// errorf returns an EINVALID error.
func errorf(format string, args ...any) error {
	return occupancy.Errorf(occupancy.EINVALID, format, args...)
}

// field appends a JSON member "name":"value", a comma before it unless it
// is the first of its object (b ends in '{').
func field(b []byte, name, value string) []byte {
	b = member(b, name)
	b = append(b, '"')
	b = append(b, value...)
	return append(b, '"')
}

// member appends the start of a member, "name":, a comma before it unless
// it is the first of its object.
func member(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// optField appends "name":"value" if value is not empty.
func optField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return field(b, name, value)
}

// optInt appends "name":v if v is not 0.
func optInt(b []byte, name string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(member(b, name), v, 10)
}

// appendFrame appends "name":"<base64 of p>" if p is not empty.
func appendFrame(b []byte, name string, p []byte) []byte {
	if len(p) == 0 {
		return b
	}
	b = append(member(b, name), '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

// appendTime appends "name":"t" in RFC 3339 with the nanoseconds it has.
func appendTime(b []byte, name string, t time.Time) []byte {
	b = append(member(b, name), '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendRadio appends the "rssi" and "snr" members that are set; TTS also
// gets "channel_rssi" (channel is true).
func appendRadio(b []byte, up *Uplink, channel bool) []byte {
	if up.RSSI != nil {
		b = strconv.AppendInt(member(b, "rssi"), int64(*up.RSSI), 10)
		if channel {
			b = strconv.AppendInt(member(b, "channel_rssi"), int64(*up.RSSI), 10)
		}
	}
	if up.SNR != nil {
		b = appendDecimal(member(b, "snr"), *up.SNR)
	}
	return b
}
