package occupancy_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

// The fixtures: testdata/registry/<case>/ are whole registry folders,
// testdata/spaces/<case>.csv are read against the valid zones, and
// testdata/zones/<case>.yaml on their own.
const validDir = "testdata/registry/valid"

func TestLoadRegistry(t *testing.T) {
	reg, err := occupancy.LoadRegistry(validDir)
	if err != nil {
		t.Fatalf("LoadRegistry(%s): %v", validDir, err)
	}
	var zoneIDs, spaceIDs []string
	for _, z := range reg.Zones() {
		zoneIDs = append(zoneIDs, z.ID)
	}
	for _, s := range reg.Spaces() {
		spaceIDs = append(spaceIDs, s.ID)
	}
	if want := []string{"Z01", "Z02"}; !reflect.DeepEqual(zoneIDs, want) {
		t.Errorf("zones %v, want %v in file order", zoneIDs, want)
	}
	if want := []string{"QA-Z01-0001", "QA-Z01-0002", "QA-Z01-0003", "QA-Z02-0001", "QA-Z02-0002"}; !reflect.DeepEqual(spaceIDs, want) {
		t.Errorf("spaces %v, want %v sorted by id", spaceIDs, want)
	}
	z, ok := reg.Zone("Z02")
	want := occupancy.Zone{ID: "Z02", Name: "回龙新村停车场", Type: occupancy.OffStreet, Profile: occupancy.ProfileResidential, Lat: 29.8563, Lon: 121.6493}
	if !ok || z != want {
		t.Errorf("Zone(Z02) = %+v, %v; want %+v", z, ok, want)
	}
	s, ok := reg.SpaceBySensor("S-000003")
	wantSpace := occupancy.Space{ID: "QA-Z02-0001", ZoneID: "Z02", SensorID: "S-000003", Lat: 29.8563, Lon: 121.6493,
		Kind: occupancy.KindEV, MaxStayMin: 0, Phase: 2}
	if !ok || s != wantSpace {
		t.Errorf("SpaceBySensor(S-000003) = %+v, %v; want %+v", s, ok, wantSpace)
	}
	if s, _ := reg.Space("QA-Z02-0002"); s.Phase != 0 {
		t.Errorf("space with an empty phase has phase %d, want 0", s.Phase)
	}
	if got := len(reg.SpacesInZone("Z01")); got != 3 {
		t.Errorf("SpacesInZone(Z01) has %d spaces, want 3", got)
	}
}

func TestLoadRegistryErrors(t *testing.T) {
	tests := []struct {
		name, dir string
		code      string // "" when only the message is checked
		want      []string
	}{
		{"duplicate sensor", "testdata/registry/dup_sensor", occupancy.EINVALID,
			[]string{"spaces.csv line 4: sensor S-000001 is already on space QA-Z01-0001 (line 2)"}},
		{"bad zone", "testdata/registry/bad_zone", occupancy.EINVALID,
			[]string{`zones.yaml line 7: zone Z02: type "garage" is not on_street or off_street`}},
		{"no such folder", "testdata/registry/missing", "", []string{"zones.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := occupancy.LoadRegistry(tc.dir)
			checkErr(t, err, tc.code, tc.want)
		})
	}
}

func TestReadSpacesErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"unknown_zone", []string{"spaces.csv line 4: space QA-Z09-0001 is in unknown zone Z09"}},
		{"dup_space", []string{"spaces.csv line 4: space id QA-Z01-0001 already on line 2"}},
		{"dup_sensor", []string{"spaces.csv line 4: sensor S-000002 is already on space QA-Z01-0002 (line 3)"}},
		{"bad_lat", []string{"spaces.csv line 4: space QA-Z01-0003: lat 95.5 is out of range"}},
		{"lat_not_number", []string{`spaces.csv line 4: lat "north" is not a number`}},
		{"bad_lon", []string{"spaces.csv line 4: space QA-Z01-0003: lon 181 is out of range"}},
		{"bad_kind", []string{`spaces.csv line 4: space QA-Z01-0003: kind "bicycle" is not standard, accessible, ev or loading`}},
		{"negative_stay", []string{"spaces.csv line 4: space QA-Z01-0003: max_stay_min -5 is negative"}},
		{"stay_not_number", []string{`spaces.csv line 4: max_stay_min "2h" is not a whole number`}},
		{"bad_phase", []string{`spaces.csv line 4: phase "one" is not a whole number`}},
		{"bad_space_id", []string{`spaces.csv line 4: space id "QA Z01 0003" may hold only`}},
		{"empty_sensor", []string{`spaces.csv line 4: sensor id "" must be 1-64 characters`}},
		{"empty_zone", []string{"spaces.csv line 4: space QA-Z01-0003: zone id is empty"}},
		{"short_row", []string{"spaces.csv", "line 4", "wrong number of fields"}},
		{"missing_column", []string{"spaces.csv: header has no sensor_id column"}},
		{"empty", []string{"spaces.csv: reading header"}},
	}
	zones := readZones(t, filepath.Join(validDir, "zones.yaml"))
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f := open(t, filepath.Join("testdata/spaces", tc.file+".csv"))
			spaces, err := occupancy.ReadSpaces(f)
			if err == nil {
				_, err = occupancy.NewRegistry(zones, spaces)
			}
			checkErr(t, err, occupancy.EINVALID, tc.want)
		})
	}
}

func TestReadZonesErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"bad_type", []string{`zones.yaml line 7: zone Z02: type "garage" is not on_street or off_street`}},
		{"bad_profile", []string{`zones.yaml line 2: zone Z01: profile "tourist" is not commuter, residential or market`}},
		{"bad_lat", []string{"zones.yaml line 7: zone Z02: lat -91 is out of range"}},
		{"bad_id", []string{`zones.yaml line 2: zone id "Z 01" may hold only`}},
		{"lat_not_number", []string{"zones.yaml line 2:", "line 5", "north"}},
		{"dup_id", []string{"zones.yaml line 7: zone id Z01 already on line 2"}},
		{"no_zones", []string{"zones.yaml: no zones"}},
		// yaml.v3 counts this syntax error's line from 0: the bad line is 3.
		{"not_yaml", []string{"zones.yaml: yaml: line 2: did not find expected"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			zones, err := occupancy.ReadZones(open(t, filepath.Join("testdata/zones", tc.file+".yaml")))
			if err == nil {
				_, err = occupancy.NewRegistry(zones, nil)
			}
			checkErr(t, err, occupancy.EINVALID, tc.want)
		})
	}
}

// checkErr asserts that err has the code (unless code is "") and that its
// message holds every wanted piece.
func checkErr(t *testing.T, err error, code string, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", want)
	}
	if code != "" && occupancy.ErrorCode(err) != code {
		t.Errorf("error code %q, want %q (error: %v)", occupancy.ErrorCode(err), code, err)
	}
	msg := occupancy.ErrorMessage(err)
	if code == "" {
		msg = err.Error()
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

func readZones(t *testing.T, path string) []occupancy.Zone {
	t.Helper()
	zones, err := occupancy.ReadZones(open(t, path))
	if err != nil {
		t.Fatalf("ReadZones(%s): %v", path, err)
	}
	return zones
}

func open(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
