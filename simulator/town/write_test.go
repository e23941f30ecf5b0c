package town

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

func TestWriteRegistryRoundTrip(t *testing.T) {
	zones, spaces, err := Generate(Options{Spaces: 5000, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "new", "city") // created on the way
	if err := WriteRegistry(dir, zones, spaces); err != nil {
		t.Fatal(err)
	}
	reg, err := occupancy.LoadRegistry(dir)
	if err != nil {
		t.Fatalf("LoadRegistry: %v", err)
	}
	if !reflect.DeepEqual(reg.Zones(), zones) {
		t.Error("zones read back differ from those written")
	}
	if !reflect.DeepEqual(reg.Spaces(), mustRegistry(t, zones, spaces).Spaces()) {
		t.Error("spaces read back differ from those written")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("dir holds %d entries, want zones.yaml and spaces.csv only (no temporary files)", len(entries))
	}
}

func TestWriteRegistryFormat(t *testing.T) {
	zones, spaces := Qiuai()
	dir := t.TempDir()
	if err := WriteRegistry(dir, zones, spaces); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(dir, "spaces.csv"))))
	sc.Scan()
	if sc.Text() != "space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min,phase" {
		t.Errorf("header %q", sc.Text())
	}
	sc.Scan()
	if fields := strings.Split(sc.Text(), ","); len(fields) != 8 || fields[0] != "QA-Z01-0001" || fields[2] != "S-000001" ||
		len(fields[3]) != len("29.852294") || len(fields[4]) != len("121.638057") {
		t.Errorf("first row %q, want QA-Z01-0001,...,S-000001 with 6-decimal coordinates", sc.Text())
	}
	yml := string(readFile(t, filepath.Join(dir, "zones.yaml")))
	for _, want := range []string{"  - id: Z01\n    name: 老镇区东街\n    type: on_street\n    profile: commuter\n", "# Z07: 384 spaces ("} {
		if !strings.Contains(yml, want) {
			t.Errorf("zones.yaml has no %q", want)
		}
	}
}

func TestWriteRegistryRejects(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(zones []occupancy.Zone, spaces []occupancy.Space) []occupancy.Space
		want  string
	}{
		{"duplicate sensor", func(_ []occupancy.Zone, s []occupancy.Space) []occupancy.Space {
			s[5].SensorID = s[4].SensorID
			return s
		}, "sensor S-000005 is already on space QA-Z01-0005"},
		{"unknown zone", func(_ []occupancy.Zone, s []occupancy.Space) []occupancy.Space {
			s[0].ZoneID = "Z99"
			return s
		}, "unknown zone Z99"},
		{"bad kind", func(_ []occupancy.Zone, s []occupancy.Space) []occupancy.Space {
			s[1].Kind = "bicycle"
			return s
		}, `kind "bicycle"`},
		{"bad latitude", func(_ []occupancy.Zone, s []occupancy.Space) []occupancy.Space {
			s[2].Lat = 91
			return s
		}, "lat 91 is out of range"},
		{"id with a comma", func(_ []occupancy.Zone, s []occupancy.Space) []occupancy.Space {
			s[3].ID = "QA,1"
			return s
		}, "may hold only"},
		{"bad zone type", func(z []occupancy.Zone, s []occupancy.Space) []occupancy.Space {
			z[0].Type = "garage"
			return s
		}, `type "garage"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, spaces := Qiuai()
			spaces = tc.spoil(zones, spaces)
			dir := t.TempDir()
			err := WriteRegistry(dir, zones, spaces)
			if err == nil || !strings.Contains(occupancy.ErrorMessage(err), tc.want) {
				t.Fatalf("WriteRegistry error %v, want one saying %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "spaces.csv")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("spaces.csv written for a rejected registry (stat: %v)", err)
			}
		})
	}
}
