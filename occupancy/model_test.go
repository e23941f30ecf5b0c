package occupancy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

const modelZones = "zones:\n  - {id: Z1, name: 东街, type: on_street, lat: 29.85, lon: 121.64}\n"

func TestReadSpacesModel(t *testing.T) {
	tests := []struct {
		name      string
		csv       string
		wantModel occupancy.Model
		wantID    string
		wantErr   string
	}{
		{"no model column", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min\nA,Z1,S-1,29.85,121.64,standard,0\n",
			"", "S-1", ""},
		{"empty model is native", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,model\nA,Z1,S-1,29.85,121.64,standard,0,\n",
			"", "S-1", ""},
		{"native keeps case", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,model\nA,Z1,S-AbC,29.85,121.64,standard,0,native\n",
			occupancy.ModelNative, "S-AbC", ""},
		{"bosch DevEUI lower-cased", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,model\nA,Z1,70B3D5E75E00ABCD,29.85,121.64,standard,0,bosch-tps110\n",
			occupancy.ModelBoschTPS110, "70b3d5e75e00abcd", ""},
		{"nwave 405", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,model\nA,Z1,0004a30b001c2f3e,29.85,121.64,standard,0,nwave-nps405\n",
			occupancy.ModelNwaveNPS405, "0004a30b001c2f3e", ""},
		{"nwave 310", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,model\nA,Z1,0004A30B001C2F3F,29.85,121.64,standard,0,nwave-nps310\n",
			occupancy.ModelNwaveNPS310, "0004a30b001c2f3f", ""},
		{"unknown model", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,model\nA,Z1,S-1,29.85,121.64,standard,0,acme\n",
			"", "", `line 2: space A: model "acme" is not native`},
		{"LoRaWAN id not 16 hex", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,model\nA,Z1,70B3D5E75E00ABC,29.85,121.64,standard,0,bosch-tps110\n",
			"", "", `line 2: space A: sensor id "70B3D5E75E00ABC" of a bosch-tps110 is not a DevEUI`},
		{"LoRaWAN id not hex", "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,model\nA,Z1,70B3D5E75E00ABCG,29.85,121.64,standard,0,nwave-nps405\n",
			"", "", "is not a DevEUI of 16 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spaces, err := occupancy.ReadSpaces(strings.NewReader(tt.csv))
			if tt.wantErr != "" {
				if err == nil || occupancy.ErrorCode(err) != occupancy.EINVALID || !strings.Contains(occupancy.ErrorMessage(err), tt.wantErr) {
					t.Fatalf("ReadSpaces error = %v, want EINVALID containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadSpaces: %v", err)
			}
			if spaces[0].Model != tt.wantModel || spaces[0].SensorID != tt.wantID {
				t.Errorf("model %q sensor %q, want %q %q", spaces[0].Model, spaces[0].SensorID, tt.wantModel, tt.wantID)
			}
		})
	}
}

func TestSpaceBySensorDevEUI(t *testing.T) {
	zones, err := occupancy.ReadZones(strings.NewReader(modelZones))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, []occupancy.Space{
		{ID: "A", ZoneID: "Z1", SensorID: "70B3D5E75E00ABCD", Lat: 29.85, Lon: 121.64, Kind: occupancy.KindStandard, Model: occupancy.ModelBoschTPS110},
		{ID: "B", ZoneID: "Z1", SensorID: "ABCDEF0123456789", Lat: 29.85, Lon: 121.64, Kind: occupancy.KindStandard},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id, want string
	}{
		{"70b3d5e75e00abcd", "A"},
		{"70B3D5E75E00ABCD", "A"},
		{"70b3D5e75e00AbCd", "A"},
		{"ABCDEF0123456789", "B"}, // a native id is matched exactly
		{"abcdef0123456789", ""},
		{"70b3d5e75e00abce", ""},
	} {
		sp, ok := reg.SpaceBySensor(tt.id)
		if ok != (tt.want != "") || sp.ID != tt.want {
			t.Errorf("SpaceBySensor(%s) = %q, %v; want %q", tt.id, sp.ID, ok, tt.want)
		}
	}
}

func TestNormalizeDevEUI(t *testing.T) {
	for in, want := range map[string]string{
		"0123456789ABCDEF": "0123456789abcdef", "0123456789abcdef": "0123456789abcdef",
		"0123456789abcde": "", "0123456789abcdeg": "", "": "", "0123456789abcdef0": "",
	} {
		got, ok := occupancy.NormalizeDevEUI(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeDevEUI(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestValidateHealthFields(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	i := func(v int) *int { return &v }
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name    string
		edit    func(r *occupancy.Reading)
		wantErr string
	}{
		{"all reported", func(r *occupancy.Reading) {
			r.Firmware, r.ResetCause, r.RSSI, r.SNR = "1.4.2", occupancy.ResetWatchdog, i(-120), f(-7.5)
		}, ""},
		{"firmware with a bar", func(r *occupancy.Reading) { r.Firmware = "1|2" }, "firmware"},
		{"firmware too long", func(r *occupancy.Reading) { r.Firmware = strings.Repeat("1", 33) }, "firmware"},
		{"reset cause with a bar", func(r *occupancy.Reading) { r.ResetCause = "a|b" }, "reset cause"},
		{"rssi too low", func(r *occupancy.Reading) { r.RSSI = i(-201) }, "rssi -201"},
		{"rssi too high", func(r *occupancy.Reading) { r.RSSI = i(51) }, "rssi 51"},
		{"snr too high", func(r *occupancy.Reading) { r.SNR = f(50.5) }, "snr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := occupancy.Reading{SensorID: "70b3d57ed0065a01", TS: now}
			tt.edit(&r)
			err := r.Validate(now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(occupancy.ErrorMessage(err), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
}

func TestRegistryDevEUIDuplicateInOtherCase(t *testing.T) {
	zones, err := occupancy.ReadZones(strings.NewReader(modelZones))
	if err != nil {
		t.Fatal(err)
	}
	_, err = occupancy.NewRegistry(zones, []occupancy.Space{
		{ID: "A", ZoneID: "Z1", SensorID: "70B3D57ED0065A01", Lat: 29.85, Lon: 121.64, Kind: occupancy.KindStandard, Model: occupancy.ModelBoschTPS110},
		{ID: "B", ZoneID: "Z1", SensorID: "70b3d57ed0065a01", Lat: 29.85, Lon: 121.64, Kind: occupancy.KindStandard, Model: occupancy.ModelNwaveNPS405},
	})
	if err == nil || !strings.Contains(occupancy.ErrorMessage(err), "sensor 70b3d57ed0065a01 is already on space A") {
		t.Fatalf("NewRegistry = %v, want a duplicate sensor error", err)
	}
}
