package occupancy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/qiuai/parking/occupancy"
)

// addFiles seeds f with every file matching glob (the hand-written fixtures
// of the table tests); testdata/fuzz/FuzzX holds the rest of the corpus.
func addFiles(f *testing.F, glob string) {
	f.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files %s: %v", glob, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkRejection asserts that err is EINVALID with a message naming file.
func checkRejection(t *testing.T, err error, file string) {
	t.Helper()
	if occupancy.ErrorCode(err) != occupancy.EINVALID {
		t.Fatalf("error %v is not EINVALID", err)
	}
	if msg := occupancy.ErrorMessage(err); !strings.HasPrefix(msg, file) {
		t.Fatalf("error message %q does not start with %s", msg, file)
	}
}

// FuzzReadSpaces feeds arbitrary bytes to ReadSpaces: it must not panic,
// must reject with an EINVALID error that names spaces.csv, and every space
// it accepts must pass Validate.
func FuzzReadSpaces(f *testing.F) {
	addFiles(f, "testdata/spaces/*.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		spaces, err := occupancy.ReadSpaces(bytes.NewReader(data))
		if err != nil {
			checkRejection(t, err, "spaces.csv")
			return
		}
		for _, sp := range spaces {
			if err := sp.Validate(); err != nil {
				t.Fatalf("accepted space %+v fails Validate: %v", sp, err)
			}
		}
	})
}

// FuzzReadZones feeds arbitrary bytes to ReadZones: no panic, EINVALID
// errors naming zones.yaml, at least one zone, each valid and unique.
func FuzzReadZones(f *testing.F) {
	addFiles(f, "testdata/zones/*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		zones, err := occupancy.ReadZones(bytes.NewReader(data))
		if err != nil {
			checkRejection(t, err, "zones.yaml")
			return
		}
		if len(zones) == 0 {
			t.Fatal("accepted a registry without zones")
		}
		seen := map[string]bool{}
		for _, z := range zones {
			if err := z.Validate(); err != nil || seen[z.ID] {
				t.Fatalf("accepted zone %+v: %v, duplicate %v", z, err, seen[z.ID])
			}
			seen[z.ID] = true
		}
	})
}

// FuzzLoadRegistry loads arbitrary zones.yaml and spaces.csv pairs: either
// an EINVALID error naming one of the files, or a registry whose lookups
// agree with each other (every space in a known zone, found by its id and
// its sensor).
func FuzzLoadRegistry(f *testing.F) {
	for _, dir := range []string{"valid", "bad_zone", "dup_sensor"} {
		z, _ := os.ReadFile(filepath.Join("testdata/registry", dir, "zones.yaml"))
		s, _ := os.ReadFile(filepath.Join("testdata/registry", dir, "spaces.csv"))
		f.Add(z, s)
	}
	f.Fuzz(func(t *testing.T, zones, spaces []byte) {
		fsys := fstest.MapFS{"zones.yaml": {Data: zones}, "spaces.csv": {Data: spaces}}
		reg, err := occupancy.LoadRegistryFS(fsys, ".")
		if err != nil {
			if occupancy.ErrorCode(err) != occupancy.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			if msg := occupancy.ErrorMessage(err); !strings.HasPrefix(msg, "zones.yaml") && !strings.HasPrefix(msg, "spaces.csv") {
				t.Fatalf("error message %q names neither file", msg)
			}
			return
		}
		for _, sp := range reg.Spaces() {
			if _, ok := reg.Zone(sp.ZoneID); !ok {
				t.Fatalf("space %s in unknown zone %s", sp.ID, sp.ZoneID)
			}
			if got, ok := reg.Space(sp.ID); !ok || got.ID != sp.ID {
				t.Fatalf("Space(%s) = %+v, %v", sp.ID, got, ok)
			}
			if got, ok := reg.SpaceBySensor(sp.SensorID); !ok || got.ID != sp.ID {
				t.Fatalf("SpaceBySensor(%s) = %+v, %v", sp.SensorID, got, ok)
			}
		}
	})
}
