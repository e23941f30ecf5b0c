package codec

import (
	"strings"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

// FuzzDecode feeds arbitrary topics and payloads to DecodeNative. Seeds are
// in testdata/fuzz/FuzzDecode. It checks that nothing panics, that every
// rejection is an EINVALID error with a message, and that an accepted
// reading survives a round trip through EncodeNative.
func FuzzDecode(f *testing.F) {
	f.Add(testTopic, []byte(`{"occupied": true, "ts": "2026-11-25T08:00:00.123Z", "seq": 42, "kind": "status", "battery_mv": 3600}`))
	f.Add("parking/v1/sensors/x/up", []byte(`{"occupied":false,"ts":"2026-11-25T07:59:59+08:00","temp_c":-3.25}`))
	f.Add("parking/v1/sensors/x/up", []byte(`{"occupied":"yes"}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		r, err := DecodeNative(topic, payload)
		if err != nil {
			if occupancy.ErrorCode(err) != occupancy.EINVALID || occupancy.ErrorMessage(err) == "" {
				t.Fatalf("DecodeNative error %v is not EINVALID with a message", err)
			}
			return
		}
		checkAccepted(t, topic, r)
	})
}

// checkAccepted checks a reading DecodeNative accepted.
func checkAccepted(t *testing.T, topic string, r occupancy.Reading) {
	t.Helper()
	if r.SensorID == "" || strings.Contains(r.SensorID, "/") || topic != Topic(r.SensorID) {
		t.Fatalf("sensor id %q does not come from topic %q", r.SensorID, topic)
	}
	// Validate must not panic; with now = ts, only range checks can fail.
	if err := r.Validate(r.TS); err != nil {
		if occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Fatalf("Validate returned a non-EINVALID error: %v", err)
		}
		return // out of range: the round trip is for readings the store gets
	}
	p := EncodeNative(r)
	again, err := DecodeNative(topic, p)
	if err != nil {
		t.Fatalf("re-encoded reading %+v does not decode: %v (%s)", r, err, p)
	}
	if !equalReading(again, r) {
		t.Fatalf("round trip changed the reading:\n %+v\n %+v", r, again)
	}
}
