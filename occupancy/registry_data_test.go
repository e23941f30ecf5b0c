package occupancy_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator/town"
)

// TestRegistryCompactLookups checks every lookup of the compact registry
// against the spaces it was built from, on the Qiuai town and on a city
// big enough to grow the lookup tables many times.
func TestRegistryCompactLookups(t *testing.T) {
	for _, n := range []int{0, 20_000} {
		t.Run(fmt.Sprintf("spaces=%d", n), func(t *testing.T) {
			zones, spaces, err := town.Generate(town.Options{Spaces: n})
			if err != nil {
				t.Fatal(err)
			}
			reg, err := occupancy.NewRegistry(zones, spaces)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(spaces)
			slices.SortFunc(want, func(a, b occupancy.Space) int { return strings.Compare(a.ID, b.ID) })
			checkRegistry(t, reg, zones, want)
		})
	}
}

// TestRegistryCompactFields round-trips fields the compact form stores as
// small indexes or shared text: an empty and an explicit native model, a
// LoRaWAN DevEUI written in upper case, and kinds and phases NewRegistry
// takes without checking them.
func TestRegistryCompactFields(t *testing.T) {
	zones := []occupancy.Zone{{ID: "Z1", Lat: 29.85, Lon: 121.64}, {ID: "Z2", Lat: 29.86, Lon: 121.65}}
	in := []occupancy.Space{
		{ID: "B", ZoneID: "Z2", SensorID: "S-2", Lat: 29.861, Lon: 121.651, Kind: occupancy.KindEV, MaxStayMin: 240, Phase: 3, Model: occupancy.ModelNative},
		{ID: "A", ZoneID: "Z1", SensorID: "70B3D5FFFE000001", Lat: 29.851, Lon: 121.641, Kind: occupancy.KindLoading, Model: occupancy.ModelNwaveNPS405},
		{ID: "C", ZoneID: "Z1", SensorID: "S-3", Lat: -29.5, Lon: -121.5, Kind: "bicycle", MaxStayMin: -1, Phase: 200},
	}
	reg, err := occupancy.NewRegistry(zones, in)
	if err != nil {
		t.Fatal(err)
	}
	a := in[1]
	a.SensorID = "70b3d5fffe000001"
	checkRegistry(t, reg, zones, []occupancy.Space{a, in[0], in[2]})
	if sp, ok := reg.SpaceBySensor("70B3D5FFFE000001"); !ok || sp.ID != "A" {
		t.Errorf("SpaceBySensor(upper-case DevEUI) = %+v, %v; want space A", sp, ok)
	}
}

// checkRegistry compares every lookup of reg with want, the spaces sorted
// by ID.
func checkRegistry(t *testing.T, reg *occupancy.Registry, zones []occupancy.Zone, want []occupancy.Space) {
	t.Helper()
	if got := reg.NumSpaces(); got != len(want) {
		t.Fatalf("NumSpaces() = %d, want %d", got, len(want))
	}
	if got := reg.Spaces(); !slices.Equal(got, want) {
		t.Errorf("Spaces() differs from the input sorted by ID")
	}
	for i, w := range want {
		if got := reg.SpaceAt(i); got != w {
			t.Fatalf("SpaceAt(%d) = %+v, want %+v", i, got, w)
		}
		if got, ok := reg.Space(w.ID); !ok || got != w {
			t.Fatalf("Space(%s) = %+v, %v; want %+v", w.ID, got, ok, w)
		}
		if got, ok := reg.SpaceBySensor(w.SensorID); !ok || got != w {
			t.Fatalf("SpaceBySensor(%s) = %+v, %v; want %+v", w.SensorID, got, ok, w)
		}
		if got := reg.SpaceIndex(w.ID); got != i+1 {
			t.Fatalf("SpaceIndex(%s) = %d, want %d", w.ID, got, i+1)
		}
	}
	if got := reg.SpaceIndex(""); got != 0 {
		t.Errorf("SpaceIndex(\"\") = %d, want 0", got)
	}
	if lo, hi := len(want)/3, 2*len(want)/3; !slices.Equal(reg.SpacesRange(lo, hi), want[lo:hi]) {
		t.Errorf("SpacesRange(%d, %d) differs from Spaces()[%d:%d]", lo, hi, lo, hi)
	}
	for _, z := range zones {
		var in []occupancy.Space
		radius := 0.0
		for _, s := range want {
			if s.ZoneID == z.ID {
				in = append(in, s)
				radius = max(radius, occupancy.Distance(z.Lat, z.Lon, s.Lat, s.Lon))
			}
		}
		if got := reg.SpacesInZone(z.ID); !slices.Equal(got, in) {
			t.Errorf("SpacesInZone(%s) has %d spaces, want the %d of the zone by ID", z.ID, len(got), len(in))
		}
		if got := reg.NumSpacesInZone(z.ID); got != len(in) {
			t.Errorf("NumSpacesInZone(%s) = %d, want %d", z.ID, got, len(in))
		}
		if got := reg.ZoneRadius(z.ID); math.Abs(got-radius) > 1e-9 {
			t.Errorf("ZoneRadius(%s) = %v, want %v", z.ID, got, radius)
		}
	}
	checkMisses(t, reg)
}

// checkMisses asks for ids no registry of the tests has.
func checkMisses(t *testing.T, reg *occupancy.Registry) {
	t.Helper()
	for _, id := range []string{"", "nope", "QA-Z01-00010", "C-Z0001-000"} {
		if sp, ok := reg.Space(id); ok {
			t.Errorf("Space(%q) = %+v, want not found", id, sp)
		}
		if sp, ok := reg.SpaceBySensor(id); ok {
			t.Errorf("SpaceBySensor(%q) = %+v, want not found", id, sp)
		}
	}
	if n, got := reg.NumSpacesInZone("nope"), reg.SpacesInZone("nope"); n != 0 || len(got) != 0 {
		t.Errorf("unknown zone: NumSpacesInZone %d, SpacesInZone %d spaces; want 0", n, len(got))
	}
	if r := reg.ZoneRadius("nope"); r != 0 {
		t.Errorf("ZoneRadius(unknown) = %v, want 0", r)
	}
}

// TestRegistryDuplicatesInBigFile finds duplicates far apart in a file,
// after the lookup tables have grown, and names both lines.
func TestRegistryDuplicatesInBigFile(t *testing.T) {
	zones, spaces, err := town.Generate(town.Options{Spaces: 5000})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		row      int    // the space to change
		old, new string // the id it gets in spaces.csv and in the slice
		set      func(*occupancy.Space, string)
		want     string
	}{
		{"space id", 4000, spaces[4000].ID, spaces[10].ID, func(s *occupancy.Space, id string) { s.ID = id },
			fmt.Sprintf("spaces.csv line 4002: space id %s already on line 12", spaces[10].ID)},
		{"sensor id", 4999, spaces[4999].SensorID, spaces[0].SensorID, func(s *occupancy.Space, id string) { s.SensorID = id },
			fmt.Sprintf("spaces.csv line 5001: sensor %s is already on space %s (line 2)", spaces[0].SensorID, spaces[0].ID)},
	}
	dir := writeCity(t, 5000)
	csv, err := os.ReadFile(filepath.Join(dir, "spaces.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := strings.Split(string(csv), "\n")
			lines[tc.row+1] = strings.Replace(lines[tc.row+1], tc.old+",", tc.new+",", 1)
			edited := filepath.Join(t.TempDir(), "city")
			if err := os.CopyFS(edited, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(edited, "spaces.csv"), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := occupancy.LoadRegistry(edited)
			checkErr(t, err, occupancy.EINVALID, []string{tc.want})
			sp := slices.Clone(spaces)
			tc.set(&sp[tc.row], tc.new)
			_, err = occupancy.NewRegistry(zones, sp)
			checkErr(t, err, occupancy.EINVALID, []string{tc.want})
		})
	}
}

// TestRegistryMemory loads a 100 000-space registry and checks the heap it
// keeps: the compact form takes under 100 bytes a space (the []Space and
// maps it replaced took about 300).
func TestRegistryMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and loads a 100 000-space registry")
	}
	dir := writeCity(t, 100_000)
	before := liveHeap()
	reg, err := occupancy.LoadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	perSpace := float64(liveHeap()-before) / float64(reg.NumSpaces())
	runtime.KeepAlive(reg)
	t.Logf("live heap %.0f B per space", perSpace)
	if perSpace > 120 {
		t.Errorf("the registry keeps %.0f B of heap per space, want at most 120", perSpace)
	}
}

// BenchmarkLoadRegistry loads a 100 000-space registry from its files and
// reports the heap it keeps per space.
func BenchmarkLoadRegistry(b *testing.B) {
	dir := writeCity(b, 100_000)
	b.ReportAllocs()
	var reg *occupancy.Registry
	for b.Loop() {
		var err error
		if reg, err = occupancy.LoadRegistry(dir); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reg = nil
	before := liveHeap()
	reg, _ = occupancy.LoadRegistry(dir)
	b.ReportMetric(float64(liveHeap()-before)/float64(reg.NumSpaces()), "live-B/space")
	runtime.KeepAlive(reg)
}

// BenchmarkRegistryLookup is the ingest path's lookup and the API's.
func BenchmarkRegistryLookup(b *testing.B) {
	zones, spaces, err := town.Generate(town.Options{Spaces: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("SpaceBySensor", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := reg.SpaceBySensor(spaces[i%len(spaces)].SensorID); !ok {
				b.Fatal("not found")
			}
			i += 7919
		}
	})
	b.Run("Space", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := reg.Space(spaces[i%len(spaces)].ID); !ok {
				b.Fatal("not found")
			}
			i += 7919
		}
	})
}

// writeCity writes a generated city of n spaces into a temporary folder.
func writeCity(tb testing.TB, n int) string {
	tb.Helper()
	zones, spaces, err := town.Generate(town.Options{Spaces: n})
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(tb.TempDir(), "city")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := town.WriteRegistry(dir, zones, spaces); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// liveHeap returns the bytes of heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
