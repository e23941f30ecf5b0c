package town

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

func TestDevEUI(t *testing.T) {
	a, b := DevEUI("S-000001"), DevEUI("S-000002")
	if a != DevEUI("S-000001") || a == b {
		t.Fatalf("DevEUI not deterministic or not distinct: %s %s", a, b)
	}
	for _, e := range []string{a, b} {
		if n, ok := occupancy.NormalizeDevEUI(e); !ok || n != e {
			t.Errorf("DevEUI %q is not 16 lower-case hex digits", e)
		}
	}
}

// TestWriteRegistryModels checks that models add a model column that loads
// back, LoRaWAN sensors as DevEUIs, and that without models the file has
// no such column.
func TestWriteRegistryModels(t *testing.T) {
	zones, spaces, err := Generate(Options{Spaces: 8})
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(t.TempDir(), "plain")
	if err := WriteRegistry(plain, zones, spaces); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(plain, "spaces.csv"))
	if !strings.HasPrefix(string(b), SpacesHeader+"\n") {
		t.Fatalf("without models the header is %q", strings.SplitN(string(b), "\n", 2)[0])
	}
	orig := spaces[1].SensorID
	AssignModels(spaces, []occupancy.Model{occupancy.ModelNative, occupancy.ModelNwaveNPS405})
	dir := filepath.Join(t.TempDir(), "models")
	if err := WriteRegistry(dir, zones, spaces); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "spaces.csv"))
	if !strings.HasPrefix(string(b), ModelsHeader+"\n") {
		t.Fatalf("with models the header is %q", strings.SplitN(string(b), "\n", 2)[0])
	}
	reg, err := occupancy.LoadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := reg.SpaceBySensor(DevEUI(orig))
	if !ok || sp.ID != spaces[1].ID || sp.Model != occupancy.ModelNwaveNPS405 {
		t.Errorf("space of DevEUI(%s) = %+v, %v", orig, sp, ok)
	}
	if sp, _ := reg.Space(spaces[0].ID); sp.Model != occupancy.ModelNative || sp.SensorID != spaces[0].SensorID {
		t.Errorf("native space read back as %+v", sp)
	}
}
