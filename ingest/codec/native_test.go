package codec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

const testTopic = "parking/v1/sensors/S-000001/up"

func TestDecodeValid(t *testing.T) {
	ts := time.Date(2026, 11, 25, 8, 0, 0, 123_000_000, time.UTC)
	temp := 21.5
	tests := []struct {
		name    string
		topic   string
		payload string
		want    occupancy.Reading
	}{
		{"contract example", testTopic,
			`{"occupied": true, "ts": "2026-11-25T08:00:00.123Z", "seq": 42, "kind": "status", "battery_mv": 3600}`,
			occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: ts, Seq: 42, Kind: occupancy.ReadingStatus, BatteryMV: 3600}},
		{"required only", testTopic, `{"occupied":false,"ts":"2026-11-25T08:00:00.123Z"}`,
			occupancy.Reading{SensorID: "S-000001", TS: ts}},
		{"heartbeat with temperature", "parking/v1/sensors/abc/up",
			`{"occupied":true,"ts":"2026-11-25T08:00:00.123Z","kind":"heartbeat","temp_c":21.5}`,
			occupancy.Reading{SensorID: "abc", Occupied: true, TS: ts, Kind: occupancy.ReadingHeartbeat, TempC: &temp}},
		{"offset and nanoseconds", testTopic, `{"occupied":true,"ts":"2026-11-25T16:00:00.123000000+08:00"}`,
			occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: ts}},
		{"no fraction", testTopic, `{"occupied":true,"ts":"2026-11-25T08:00:00Z"}`,
			occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: ts.Truncate(time.Second)}},
		{"unknown fields ignored", testTopic,
			`{"fw":"1.2","occupied":true,"extra":{"a":[1,2,{"b":null}]},"ts":"2026-11-25T08:00:00.123Z","rssi":-70}`,
			occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: ts}},
		{"optional nulls", testTopic,
			`{"occupied":true,"ts":"2026-11-25T08:00:00.123Z","seq":null,"kind":null,"battery_mv":null,"temp_c":null}`,
			occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: ts}},
		{"escaped ts", testTopic, `{"occupied":true,"ts":"2026-11-25T08:00:00.123\u005a"}`,
			occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: ts}},
		{"whitespace and negative battery", testTopic, " \n{\"occupied\" : true , \"ts\":\"2026-11-25T08:00:00.123Z\",\"battery_mv\":-5}\n",
			occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: ts, BatteryMV: -5}},
		{"largest seq", testTopic, `{"occupied":true,"ts":"2026-11-25T08:00:00.123Z","seq":9007199254740992}`,
			occupancy.Reading{SensorID: "S-000001", Occupied: true, TS: ts, Seq: 1 << 53}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeNative(tc.topic, []byte(tc.payload))
			if err != nil {
				t.Fatalf("DecodeNative: %v", err)
			}
			if !equalReading(got, tc.want) {
				t.Errorf("DecodeNative =\n %+v, want\n %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	const ts = `"ts":"2026-11-25T08:00:00Z"`
	tests := []struct {
		name    string
		topic   string
		payload string
		want    string // the exact message, or its start when it ends in "*"
	}{
		{"topic without prefix", "sensors/S1/up", `{}`, `topic "sensors/S1/up" is not parking/v1/sensors/{sensor_id}/up`},
		{"topic without suffix", "parking/v1/sensors/S1/down", `{}`, `topic "parking/v1/sensors/S1/down" is not *`},
		{"topic with empty id", "parking/v1/sensors//up", `{}`, `topic "parking/v1/sensors//up" is not *`},
		{"topic with nested id", "parking/v1/sensors/a/b/up", `{}`, `topic "parking/v1/sensors/a/b/up" is not *`},
		{"oversized", testTopic, `{"occupied":true,` + ts + `,"pad":"` + strings.Repeat("x", 70000-len(`{"occupied":true,`+ts+`,"pad":""}`)) + `"}`,
			"payload is 70000 bytes, over the 65536-byte limit"},
		{"empty", testTopic, ``, "payload is empty"},
		{"blank", testTopic, " \n\t", "payload is empty"},
		{"not JSON", testTopic, `occupied=true`, "payload is not valid JSON: invalid character 'o' looking for beginning of value*"},
		{"truncated JSON", testTopic, `{"occupied":true,`, "payload is not valid JSON: unexpected end of JSON input*"},
		{"trailing garbage", testTopic, `{"occupied":true,` + ts + `}x`, "payload is not valid JSON: invalid character 'x' after top-level value*"},
		{"array", testTopic, `[{"occupied":true}]`, "payload must be a JSON object"},
		{"string", testTopic, `"hello"`, "payload must be a JSON object"},
		{"null", testTopic, `null`, "payload must be a JSON object"},
		{"occupied missing", testTopic, `{` + ts + `}`, `"occupied" is required`},
		{"occupied null", testTopic, `{"occupied":null,` + ts + `}`, `"occupied" must be true or false, not null`},
		{"occupied string", testTopic, `{"occupied":"true",` + ts + `}`, `"occupied" must be true or false, not "true"`},
		{"occupied number", testTopic, `{"occupied":1,` + ts + `}`, `"occupied" must be true or false, not 1`},
		{"ts missing", testTopic, `{"occupied":true}`, `"ts" is required`},
		{"ts null", testTopic, `{"occupied":true,"ts":null}`, `"ts" must be an RFC 3339 time string, not null`},
		{"ts number", testTopic, `{"occupied":true,"ts":1764057600}`, `"ts" must be an RFC 3339 time string, not 1764057600`},
		{"ts not RFC 3339", testTopic, `{"occupied":true,"ts":"2026-11-25 08:00:00"}`,
			`"ts" "2026-11-25 08:00:00" is not an RFC 3339 time like 2026-11-25T08:00:00.123Z`},
		{"ts without zone", testTopic, `{"occupied":true,"ts":"2026-11-25T08:00:00"}`, `"ts" "2026-11-25T08:00:00" is not an RFC 3339 time*`},
		{"ts empty", testTopic, `{"occupied":true,"ts":""}`, `"ts" "" is not an RFC 3339 time*`},
		{"seq negative", testTopic, `{"occupied":true,` + ts + `,"seq":-1}`, `"seq" must be a non-negative integer, not -1`},
		{"seq fraction", testTopic, `{"occupied":true,` + ts + `,"seq":1.5}`, `"seq" must be a non-negative integer, not 1.5`},
		{"seq exponent", testTopic, `{"occupied":true,` + ts + `,"seq":1e3}`, `"seq" must be a non-negative integer, not 1e3`},
		{"seq string", testTopic, `{"occupied":true,` + ts + `,"seq":"7"}`, `"seq" must be a non-negative integer, not "7"`},
		{"seq above 2^53", testTopic, `{"occupied":true,` + ts + `,"seq":9007199254740993}`, `"seq" 9007199254740993 is above 2^53`},
		{"seq above uint64", testTopic, `{"occupied":true,` + ts + `,"seq":99999999999999999999999}`, `"seq" 99999999999999999999999 is above 2^53`},
		{"kind number", testTopic, `{"occupied":true,` + ts + `,"kind":1}`, `"kind" must be a string (status or heartbeat), not 1`},
		{"kind empty", testTopic, `{"occupied":true,` + ts + `,"kind":""}`, `"kind" is empty; use status or heartbeat`},
		{"battery fraction", testTopic, `{"occupied":true,` + ts + `,"battery_mv":3.6}`, `"battery_mv" must be an integer (millivolts), not 3.6`},
		{"battery string", testTopic, `{"occupied":true,` + ts + `,"battery_mv":"3600"}`, `"battery_mv" must be an integer (millivolts), not "3600"`},
		{"battery huge", testTopic, `{"occupied":true,` + ts + `,"battery_mv":99999999999}`, `"battery_mv" 99999999999 is out of range`},
		{"temp string", testTopic, `{"occupied":true,` + ts + `,"temp_c":"21"}`, `"temp_c" must be a number, not "21"`},
		{"temp bool", testTopic, `{"occupied":true,` + ts + `,"temp_c":true}`, `"temp_c" must be a number, not true`},
		{"temp overflow", testTopic, `{"occupied":true,` + ts + `,"temp_c":1e999}`, `"temp_c" 1e999 is out of range`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeNative(tc.topic, []byte(tc.payload))
			if err == nil {
				t.Fatalf("DecodeNative accepted it: %+v", r)
			}
			if code := occupancy.ErrorCode(err); code != occupancy.EINVALID {
				t.Errorf("code = %q, want %q (%v)", code, occupancy.EINVALID, err)
			}
			msg := occupancy.ErrorMessage(err)
			if prefix, ok := strings.CutSuffix(tc.want, "*"); ok {
				if !strings.HasPrefix(msg, prefix) {
					t.Errorf("message = %q, want it to start with %q", msg, prefix)
				}
			} else if msg != tc.want {
				t.Errorf("message = %q, want %q", msg, tc.want)
			}
		})
	}
}

// TestDecodeThenValidate shows the split of work: DecodeNative checks the
// format, Validate the ranges and the sensor clock (a *ClockError).
func TestDecodeThenValidate(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name, payload, want string
	}{
		{"unknown kind", `{"occupied":true,"ts":"2026-11-25T08:00:00Z","kind":"alarm"}`, `kind "alarm" is not status or heartbeat`},
		{"battery range", `{"occupied":true,"ts":"2026-11-25T08:00:00Z","battery_mv":20000}`, "battery_mv 20000 is out of range 0-10000"},
		{"temp range", `{"occupied":true,"ts":"2026-11-25T08:00:00Z","temp_c":150}`, "temp_c is out of range -60..100"},
		{"far future", `{"occupied":true,"ts":"2026-11-25T09:00:00Z"}`, "sensor clock is wrong: sensor time 2026-11-25T09:00:00Z, 1h0m0s ahead*"},
		{"ancient", `{"occupied":true,"ts":"1999-12-31T23:59:59Z"}`, "sensor clock is wrong: sensor time 1999-12-31T23:59:59Z, 235808h0m1s behind*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeNative(testTopic, []byte(tc.payload))
			if err != nil {
				t.Fatalf("DecodeNative: %v", err)
			}
			err = r.Validate(now)
			msg := occupancy.ErrorMessage(err)
			var ce *occupancy.ClockError
			if errors.As(err, &ce) {
				msg = ce.Error()
			}
			prefix, star := strings.CutSuffix(tc.want, "*")
			if err == nil || (star && !strings.HasPrefix(msg, prefix)) || (!star && msg != tc.want) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeAllocations(t *testing.T) {
	payload := []byte(`{"occupied": true, "ts": "2026-11-25T08:00:00.123Z", "seq": 42, "kind": "status", "battery_mv": 3600}`)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := DecodeNative(testTopic, payload); err != nil {
			t.Fatal(err)
		}
	})
	// encoding/json: its decoder state, error context and field stack, the
	// target struct; ours: the ts string. Nothing per field.
	if allocs > 6 {
		t.Errorf("DecodeNative allocates %.0f times per message, want at most 6", allocs)
	}
}

func BenchmarkDecode(b *testing.B) {
	payload := []byte(`{"occupied": true, "ts": "2026-11-25T08:00:00.123Z", "seq": 42, "kind": "status", "battery_mv": 3600, "temp_c": 12.5}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := DecodeNative(testTopic, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// equalReading compares readings, TempC by value and TS as instants.
func equalReading(a, b occupancy.Reading) bool {
	if (a.TempC == nil) != (b.TempC == nil) || (a.TempC != nil && *a.TempC != *b.TempC) {
		return false
	}
	a.TempC, b.TempC = nil, nil
	if !a.TS.Equal(b.TS) {
		return false
	}
	a.TS, b.TS = time.Time{}, time.Time{}
	return a == b
}

// TestNativeRoundTrip checks that EncodeNative then DecodeNative gives the
// reading back, fields left out included, and that a reading of
// millisecond precision gets the millisecond "ts" sensors send.
func TestNativeRoundTrip(t *testing.T) {
	ms := time.Date(2026, 11, 25, 8, 0, 0, 123_000_000, time.UTC)
	tests := []struct {
		name   string
		r      occupancy.Reading
		wantTS string
	}{
		{"every field", occupancy.Reading{SensorID: "S-1", Occupied: true, TS: ms, Seq: 42,
			Kind: occupancy.ReadingStatus, BatteryMV: 3600, TempC: f64(12.3)}, `"2026-11-25T08:00:00.123Z"`},
		{"required only", occupancy.Reading{SensorID: "S-1", TS: ms.Truncate(time.Second)}, `"2026-11-25T08:00:00.000Z"`},
		{"nanoseconds, another zone", occupancy.Reading{SensorID: "a.b", TS: time.Date(2026, 11, 25, 16, 0, 0, 1, time.FixedZone("CST", 8*3600)),
			Kind: occupancy.ReadingHeartbeat, TempC: f64(-0.5)}, `"2026-11-25T08:00:00.000000001Z"`},
		{"whole degrees, negative battery", occupancy.Reading{SensorID: "S-1", TS: ms, Seq: 1 << 53, BatteryMV: -5, TempC: f64(-12)},
			`"2026-11-25T08:00:00.123Z"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := EncodeNative(tc.r)
			if !strings.Contains(string(p), `"ts":`+tc.wantTS) {
				t.Errorf("payload %s, want ts %s", p, tc.wantTS)
			}
			got, err := DecodeNative(Topic(tc.r.SensorID), p)
			if err != nil {
				t.Fatalf("DecodeNative(%s): %v", p, err)
			}
			if !equalReading(got, tc.r) {
				t.Errorf("round trip of %s:\n got %+v\nwant %+v", p, got, tc.r)
			}
		})
	}
}

// TestEncodeNativeLayout pins the bytes of a simulator-style message: the
// field order, one decimal of temperature, milliseconds in "ts".
func TestEncodeNativeLayout(t *testing.T) {
	r := occupancy.Reading{Occupied: true, TS: time.UnixMilli(1795996800123), Seq: 42, Kind: occupancy.ReadingStatus,
		BatteryMV: 3600, TempC: f64(0)}
	want := `{"occupied":true,"ts":"2026-11-30T00:00:00.123Z","seq":42,"kind":"status","battery_mv":3600,"temp_c":0.0}`
	if got := string(EncodeNative(r)); got != want {
		t.Errorf("EncodeNative =\n %s, want\n %s", got, want)
	}
}

func BenchmarkEncodeNative(b *testing.B) {
	r := occupancy.Reading{Occupied: true, TS: time.UnixMilli(1795996800123), Seq: 42, Kind: occupancy.ReadingStatus,
		BatteryMV: 3600, TempC: f64(12.3)}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendNative(buf[:0], r)
	}
}
