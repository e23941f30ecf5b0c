package redisstore

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

func TestDecodeState(t *testing.T) {
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	f, i := func(v float64) *float64 { return &v }, func(v int) *int { return &v }
	tests := []struct {
		name, packed string
		want         occupancy.SpaceState
	}{
		{"never seen", "", occupancy.SpaceState{SpaceID: "A-1", Status: occupancy.StatusUnknown}},
		{"too few fields", "f|0|1|2", occupancy.SpaceState{SpaceID: "A-1", Status: occupancy.StatusUnknown}},
		{"before the health fields", "o|1|1000|2000|1500000|7|3600", occupancy.SpaceState{SpaceID: "A-1",
			Status: occupancy.StatusOccupied, Since: ms(1000), LastSeen: ms(2000), SensorTS: time.UnixMicro(1500000).UTC(),
			Seq: 7, BatteryMV: 3600}},
		{"no optional field", "f|0|1000|2000|1500000|||||||", occupancy.SpaceState{SpaceID: "A-1",
			Status: occupancy.StatusFree, Since: ms(1000), LastSeen: ms(2000), SensorTS: time.UnixMicro(1500000).UTC()}},
		{"every field", "f|0|1000|2000|1500000|42|3600|21.5|1.2.3|power_on|-97|7.25", occupancy.SpaceState{SpaceID: "A-1",
			Status: occupancy.StatusFree, Since: ms(1000), LastSeen: ms(2000), SensorTS: time.UnixMicro(1500000).UTC(),
			Seq: 42, BatteryMV: 3600, Health: occupancy.Health{TempC: f(21.5), Firmware: "1.2.3", ResetCause: "power_on",
				RSSI: i(-97), SNR: f(7.25)}}},
		{"bad numbers are left out", "f|0|x|2000|y|-3|mv|t||||snr", occupancy.SpaceState{SpaceID: "A-1",
			Status: occupancy.StatusFree, LastSeen: ms(2000)}},
		{"fields added later are ignored", "f|0|1000|2000|1500000|42|3600|||||||new", occupancy.SpaceState{SpaceID: "A-1",
			Status: occupancy.StatusFree, Since: ms(1000), LastSeen: ms(2000), SensorTS: time.UnixMicro(1500000).UTC(),
			Seq: 42, BatteryMV: 3600}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodeState("A-1", tc.packed); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decodeState(%q)\n got %+v\nwant %+v", tc.packed, got, tc.want)
			}
		})
	}
}

// TestDecodeStateAllocations: a state without temperature or radio fields
// (most of them) decodes without allocating; nearby decodes one per space
// it answers, and the detector one per space per pass.
func TestDecodeStateAllocations(t *testing.T) {
	packed := "f|0|1796214770265|1796214770268|1796214770265000|42|3600|||||"
	if n := testing.AllocsPerRun(100, func() { decodeState("A-1", packed) }); n != 0 {
		t.Errorf("decodeState allocates %v times, want 0", n)
	}
}

func TestSplitFields(t *testing.T) {
	for _, v := range []string{"", "a", "a|b", "||", "a|b|c|d|e"} {
		var f [3]string
		n := splitFields(v, f[:])
		want := strings.Split(v, "|")
		if n != len(want) {
			t.Errorf("splitFields(%q) = %d fields, want %d", v, n, len(want))
		}
		for k := range min(n, len(f)) {
			if f[k] != want[k] {
				t.Errorf("splitFields(%q) field %d = %q, want %q", v, k, f[k], want[k])
			}
		}
	}
}
