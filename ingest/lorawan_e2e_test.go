package ingest

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// TestLoRaWANEndToEnd publishes The Things Stack and ChirpStack uplinks,
// carrying real Bosch and Nwave frames, to a real Mosquitto; a subscriber
// with the LoRaWAN routes writes them to a real Redis. Each space must take
// the state, battery and health its frames say; bad frames and unknown
// devices are counted and dead-lettered; a start-up message with a reset
// frame counter does not make later readings stale.
func TestLoRaWANEndToEnd(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	srv := testenv.MustStartRedis(t)
	rdb, err := redisstore.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	reg := loraRegistry(t)
	st, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Init(ctx); err != nil {
		t.Fatal(err)
	}
	pub := newPublisher(t, broker.URL)
	sub := startSub(t, broker.URL, "ingest-lorawan", st, func(o *Options) {
		o.Routes = LoRaWANRoutes(reg, DefaultTTSTopic, DefaultChirpStackTopic)
	})
	count := func(result string) float64 {
		return metricValue(t, sub.reg, "parkd_ingest_messages_total", "result", result)
	}
	base := time.Now().UTC().Add(-10 * time.Minute)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	const (
		nps405TTS = "70B3D57ED0065A01" // QA-Z01-0101, upper case as TTS prints it
		boschTTS  = "70B3D57ED0065A02" // QA-Z01-0102
		boschCS   = "70b3d57ed0065a03" // QA-Z01-0103
		nps405CS  = "0004a30b001c2f3e" // QA-Z02-0201
		nps310CS  = "0004a30b001c2f3f" // QA-Z02-0202
	)
	tts := func(eui string) string { return "v3/qiuai-parking@qiuai/devices/dev-" + strings.ToLower(eui) + "/up" }
	cs := func(eui string) string {
		return "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/" + strings.ToLower(eui) + "/event/up"
	}
	// One at a time: the result of each depends on the ones before.
	steps := []struct {
		name, topic, payload, result string
	}{
		// NPS405 on TTS: occupied after 95 minutes free, then a heartbeat.
		{"405 status", tts(nps405TTS), ttsMsg(nps405TTS, at(0), 10, 1, b64(91<<1|1)), "applied"},
		{"405 heartbeat", tts(nps405TTS), ttsMsg(nps405TTS, at(1), 11, 2, b64(0x01, 0xc8, 0x17)), "applied"},
		{"405 heartbeat again (network server retry)", tts(nps405TTS), ttsMsg(nps405TTS, at(1), 11, 2, b64(0x01, 0xc8, 0x17)), "duplicate"},
		// Bosch on TTS: a rejoin resets the counter to 0 (left out of the
		// JSON); later readings with small counters still apply, an old
		// one received late does not.
		{"bosch status f_cnt 500", tts(boschTTS), ttsMsg(boschTTS, at(0), 500, 1, b64(1)), "applied"},
		{"bosch start-up f_cnt 0", tts(boschTTS), ttsMsg(boschTTS, at(2), 0, 3, b64(append(make([]byte, 12), 1, 4, 2, 2, 0)...)), "applied"},
		{"bosch status f_cnt 1 after the rejoin", tts(boschTTS), ttsMsg(boschTTS, at(3), 1, 1, b64(1)), "applied"},
		{"bosch heartbeat f_cnt 2 with -5 °C", tts(boschTTS), ttsMsg(boschTTS, at(4), 2, 2, b64(1, 0xfb)), "applied"},
		{"bosch f_cnt 499 received before the rejoin, delivered late", tts(boschTTS), ttsMsg(boschTTS, at(-1), 499, 1, b64(0)), "stale"},
		// Bosch on ChirpStack: fCnt 0 left out.
		{"bosch cs status free", cs(boschCS), csMsg(boschCS, at(0), 0, 1, b64(0)), "applied"},
		// NPS405 on ChirpStack: heartbeat (battery, temperature), then a change.
		{"405 cs heartbeat", cs(nps405CS), csMsg(nps405CS, at(0), 5, 2, b64(0x00, 150, 0x14)), "applied"},
		{"405 cs status", cs(nps405CS), csMsg(nps405CS, at(5), 6, 1, b64(127<<1|1)), "applied"},
		{"405 cs start-up", cs(nps405CS), csMsg(nps405CS, at(6), 0, 3, b64(3, 1, 7, 1, 1)), "applied"},
		// NPS310 on ChirpStack, then a frame only an NPS405 sends.
		{"310 heartbeat", cs(nps310CS), csMsg(nps310CS, at(0), 3, 2, b64(1)), "applied"},
		{"310 three-byte heartbeat", cs(nps310CS), csMsg(nps310CS, at(9), 4, 2, b64(0, 1, 2)), "invalid"},
		{"310 unknown port", cs(nps310CS), csMsg(nps310CS, at(9), 4, 7, b64(0)), "invalid"},
		{"unknown DevEUI", cs("0004a30b00ffffff"), csMsg("0004a30b00ffffff", at(0), 1, 1, b64(1)), "unknown_sensor"},
		{"TTS envelope without dev_eui", tts(nps405TTS), `{"received_at":"2026-11-25T08:00:00Z","uplink_message":{"f_port":1,"frm_payload":"AQ=="}}`, "invalid"},
		{"native sensor beside them", topicFor("S-000203"), string(payloadFor(at(0), true, 1)), "applied"},
	}
	for _, s := range steps {
		before := count(s.result)
		publish(t, pub, s.topic, []byte(s.payload))
		waitFor(t, s.name+": "+s.result, func() bool { return count(s.result) > before })
	}

	wantTemp := func(v float64) *float64 { return &v }
	want := map[string]struct {
		status  occupancy.Status
		battery int
		health  occupancy.Health
	}{
		"QA-Z01-0101": {occupancy.StatusOccupied, 3300, occupancy.Health{TempC: wantTemp(21.5), RSSI: intp(-90), SNR: f64(5.5)}},
		"QA-Z01-0102": {occupancy.StatusOccupied, 0, occupancy.Health{TempC: wantTemp(-5), Firmware: "1.4.2",
			ResetCause: occupancy.ResetPowerOn, RSSI: intp(-90), SNR: f64(5.5)}},
		"QA-Z01-0103": {occupancy.StatusFree, 0, occupancy.Health{RSSI: intp(-105), SNR: f64(-2.25)}},
		"QA-Z02-0201": {occupancy.StatusOccupied, 3100, occupancy.Health{TempC: wantTemp(20), Firmware: "3.1.7",
			ResetCause: occupancy.ResetWatchdog, RSSI: intp(-105), SNR: f64(-2.25)}},
		"QA-Z02-0202": {occupancy.StatusOccupied, 0, occupancy.Health{RSSI: intp(-105), SNR: f64(-2.25)}},
		"QA-Z01-0104": {occupancy.StatusUnknown, 0, occupancy.Health{}},
		"QA-Z02-0203": {occupancy.StatusOccupied, 0, occupancy.Health{}},
	}
	for id, w := range want {
		got, err := st.Space(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != w.status || got.BatteryMV != w.battery || fmtH(got.Health) != fmtH(w.health) {
			t.Errorf("%s: %s battery %d health %s; want %s battery %d health %s",
				id, got.Status, got.BatteryMV, fmtH(got.Health), w.status, w.battery, fmtH(w.health))
		}
	}
	// The Bosch sensor's newest reading is the one after the rejoin.
	if got, _ := st.Space(ctx, "QA-Z01-0102"); got.Seq != 2 || !got.SensorTS.Equal(at(4).Truncate(time.Microsecond)) {
		t.Errorf("bosch newest reading seq %d at %s, want seq 2 at %s", got.Seq, got.SensorTS, at(4))
	}
	z1, _ := st.Zone(ctx, "Z01")
	z2, _ := st.Zone(ctx, "Z02")
	if z1.Counts != (occupancy.Counts{Total: 4, Free: 1, Occupied: 2, Unknown: 1}) ||
		z2.Counts != (occupancy.Counts{Total: 3, Occupied: 3}) {
		t.Errorf("zone counts Z01 %+v, Z02 %+v", z1.Counts, z2.Counts)
	}
	dead, err := st.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, d := range dead {
		reasons = append(reasons, d.Result+": "+d.Reason)
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{
		"invalid: nwave-nps310 heartbeat frame on port 2 is 3 bytes, want 1",
		"invalid: nwave-nps310 frame on unknown port 7",
		`unknown_sensor: sensor "0004a30b00ffffff" is not in the registry`,
		"invalid: end_device_ids.dev_eui is required",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("dead letters lack %q; have:\n%s", want, all)
		}
	}
}

// ttsMsg returns a The Things Stack uplink of a frame (base64) from
// devEUI, heard at -90 dBm and 5.5 dB.
func ttsMsg(devEUI string, at time.Time, fcnt uint32, port int, frame string) string {
	up := uplink(devEUI, at, fcnt, port, frame, -90, 5.5)
	return string(codec.EncodeTTS(up, codec.Origin{DeviceID: "dev-" + strings.ToLower(devEUI), Application: "qiuai-parking"}))
}

// csMsg returns a ChirpStack uplink event of a frame (base64) from devEUI,
// heard at -105 dBm and -2.25 dB.
func csMsg(devEUI string, at time.Time, fcnt uint32, port int, frame string) string {
	up := uplink(devEUI, at, fcnt, port, frame, -105, -2.25)
	return string(codec.EncodeChirpStack(up, codec.Origin{DeviceID: "dev-" + devEUI, Gateway: "0016c001f153a14c"}))
}

// uplink is the uplink of one frame (base64).
func uplink(devEUI string, at time.Time, fcnt uint32, port int, frame string, rssi int, snr float64) codec.Uplink {
	b, err := base64.StdEncoding.DecodeString(frame)
	if err != nil {
		panic(err)
	}
	return codec.Uplink{DevEUI: devEUI, ReceivedAt: at, FCnt: fcnt, FPort: port, Payload: b, RSSI: &rssi, SNR: &snr}
}

// b64 encodes frame bytes.
func b64(b ...byte) string { return base64.StdEncoding.EncodeToString(b) }

// loraRegistry has one zone with a space per LoRaWAN model and a native one.
func loraRegistry(t testing.TB) *occupancy.Registry {
	t.Helper()
	reg, err := occupancy.LoadRegistry(filepath.Join("codec", "testdata", "lorawan", "registry"))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// fmtH prints a Health for comparison.
func fmtH(h occupancy.Health) string {
	p := func(v any) string {
		switch v := v.(type) {
		case *float64:
			if v != nil {
				return strconv.FormatFloat(*v, 'f', -1, 64)
			}
		case *int:
			if v != nil {
				return strconv.Itoa(*v)
			}
		}
		return "-"
	}
	return "{temp " + p(h.TempC) + " fw " + h.Firmware + " reset " + h.ResetCause + " rssi " + p(h.RSSI) + " snr " + p(h.SNR) + "}"
}
