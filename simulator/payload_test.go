package simulator

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

func TestPayloadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    message
		temp float64
	}{
		{"occupied status", message{occupied: true, ts: 1795996800123, seq: 42, kind: occupancy.ReadingStatus, batteryMV: 3600, tempDeci: 123}, 12.3},
		{"free heartbeat", message{occupied: false, ts: 1795996800000, seq: 1, kind: occupancy.ReadingHeartbeat, batteryMV: 2301, tempDeci: 0}, 0},
		{"frost", message{ts: 1795996800999, seq: 1 << 40, kind: occupancy.ReadingStatus, batteryMV: 3599, tempDeci: -7}, -0.7},
		{"cold", message{ts: 1, seq: 7, kind: occupancy.ReadingStatus, batteryMV: 3000, tempDeci: -125}, -12.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := encode(&tc.m)
			var fields map[string]any
			if err := json.Unmarshal(p, &fields); err != nil {
				t.Fatalf("payload %s is not JSON: %v", p, err)
			}
			keys := make([]string, 0, len(fields))
			for k := range fields {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if want := []string{"battery_mv", "kind", "occupied", "seq", "temp_c", "ts"}; !slices.Equal(keys, want) {
				t.Errorf("fields %v, want %v", keys, want)
			}
			var got struct {
				Occupied  bool    `json:"occupied"`
				TS        string  `json:"ts"`
				Seq       uint64  `json:"seq"`
				Kind      string  `json:"kind"`
				BatteryMV int     `json:"battery_mv"`
				TempC     float64 `json:"temp_c"`
			}
			if err := json.Unmarshal(p, &got); err != nil {
				t.Fatal(err)
			}
			ts, err := time.Parse(time.RFC3339, got.TS)
			if err != nil {
				t.Fatalf("ts %q is not RFC 3339: %v", got.TS, err)
			}
			if len(got.TS) != len("2026-11-25T08:00:00.123Z") || got.TS[len(got.TS)-1] != 'Z' {
				t.Errorf("ts %q: want UTC with milliseconds", got.TS)
			}
			if ts.UnixMilli() != tc.m.ts || got.Occupied != tc.m.occupied || got.Seq != tc.m.seq ||
				got.Kind != string(tc.m.kind) || got.BatteryMV != tc.m.batteryMV || got.TempC != tc.temp {
				t.Errorf("decoded %+v (ts %d), want %+v, temp %v", got, ts.UnixMilli(), tc.m, tc.temp)
			}
		})
	}
}

func TestTopic(t *testing.T) {
	if got, want := Topic("S-000001"), "parking/v1/sensors/S-000001/up"; got != want {
		t.Errorf("Topic = %q, want %q", got, want)
	}
}

func BenchmarkEncode(b *testing.B) {
	m := message{occupied: true, ts: 1795996800123, seq: 42, kind: occupancy.ReadingStatus, batteryMV: 3600, tempDeci: 123}
	buf := make([]byte, 0, 128)
	var temp float64
	b.ReportAllocs()
	for b.Loop() {
		buf = codec.AppendNative(buf[:0], m.reading(&temp))
	}
}
