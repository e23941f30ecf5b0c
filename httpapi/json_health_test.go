package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

// TestSpaceJSONHealth checks that sensor model and health appear on a
// staff answer when known and are left out when not, and that a public
// answer never carries the sensor's health.
func TestSpaceJSONHealth(t *testing.T) {
	temp, snr, rssi := -3.5, 7.25, -97
	sp := occupancy.Space{ID: "QA-1", ZoneID: "Z1", SensorID: "70b3d57ed0065a01", Kind: occupancy.KindStandard,
		Model: occupancy.ModelNwaveNPS405}
	st := occupancy.SpaceState{SpaceID: "QA-1", Status: occupancy.StatusFree, BatteryMV: 3300, Health: occupancy.Health{
		TempC: &temp, Firmware: "1.4.2", ResetCause: "watchdog", RSSI: &rssi, SNR: &snr}}
	b, err := json.Marshal(newSpaceJSON(sp, st, true))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"model":"nwave-nps405"`, `"battery_mv":3300`, `"temp_c":-3.5`, `"firmware":"1.4.2"`,
		`"reset_cause":"watchdog"`, `"rssi":-97`, `"snr":7.25`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("space JSON %s lacks %s", b, want)
		}
	}
	b, err = json.Marshal(newSpaceJSON(occupancy.Space{ID: "QA-2", ZoneID: "Z1", SensorID: "S-2", Kind: occupancy.KindStandard},
		occupancy.SpaceState{SpaceID: "QA-2", Status: occupancy.StatusUnknown}, true))
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"model", "battery_mv", "temp_c", "firmware", "reset_cause", "rssi", "snr"} {
		if strings.Contains(string(b), `"`+absent+`"`) {
			t.Errorf("space JSON %s has %s although it is unknown", b, absent)
		}
	}
	b, err = json.Marshal(newSpaceJSON(sp, st, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"battery_mv", "temp_c", "firmware", "reset_cause", "rssi", "snr"} {
		if strings.Contains(string(b), `"`+absent+`"`) {
			t.Errorf("public space JSON %s has %s", b, absent)
		}
	}
}
