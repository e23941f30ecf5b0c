package town

import (
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

func TestGenerateSizes(t *testing.T) {
	qz, qs := Qiuai()
	tests := []struct {
		name       string
		opts       Options
		wantSpaces []occupancy.Space // nil: not a cut of Qiuai
		wantZones  []occupancy.Zone
		wantErr    bool
	}{
		{name: "default is Qiuai", opts: Options{}, wantSpaces: qs, wantZones: qz},
		{name: "Qiuai's size is Qiuai", opts: Options{Spaces: len(qs), Seed: 7}, wantSpaces: qs, wantZones: qz},
		{name: "fewer keeps the first spaces", opts: Options{Spaces: 500}, wantSpaces: qs[:500], wantZones: qz[:3]},
		{name: "one space", opts: Options{Spaces: 1}, wantSpaces: qs[:1], wantZones: qz[:1]},
		{name: "negative", opts: Options{Spaces: -1}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, spaces, err := Generate(tc.opts)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Generate(%+v) error %v, want error %v", tc.opts, err, tc.wantErr)
			}
			if !reflect.DeepEqual(spaces, tc.wantSpaces) || !reflect.DeepEqual(zones, tc.wantZones) {
				t.Errorf("Generate(%+v): %d zones, %d spaces, want %d, %d",
					tc.opts, len(zones), len(spaces), len(tc.wantZones), len(tc.wantSpaces))
			}
		})
	}
}

func TestGenerateCity(t *testing.T) {
	const n = 100_000
	zones, spaces, err := Generate(Options{Spaces: n})
	if err != nil {
		t.Fatal(err)
	}
	if len(spaces) != n {
		t.Fatalf("%d spaces, want %d", len(spaces), n)
	}
	reg := mustRegistry(t, zones, spaces)
	checkIDs(t, zones, spaces, regexp.MustCompile(`^Z\d{4,}$`), regexp.MustCompile(`^C-Z\d{4,}-\d{4}$`))
	checkMix(t, zones, spaces)
	checkLayout(t, reg, 300)
	for _, z := range zones {
		if k := len(reg.SpacesInZone(z.ID)); k < cityMinZone || k > cityMaxZone {
			t.Errorf("zone %s has %d spaces, want %d-%d", z.ID, k, cityMinZone, cityMaxZone)
		}
	}
}

func TestGenerateSeed(t *testing.T) {
	gen := func(seed int64) []occupancy.Space {
		_, spaces, err := Generate(Options{Spaces: 5000, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return spaces
	}
	if !reflect.DeepEqual(gen(3), gen(3)) {
		t.Error("the same seed gave two different cities")
	}
	if !reflect.DeepEqual(gen(0), gen(1)) {
		t.Error("seed 0 is not the default seed 1")
	}
	if reflect.DeepEqual(gen(1), gen(2)) {
		t.Error("seeds 1 and 2 gave the same city")
	}
}

// TestGenerateMillion checks the size of the largest load test. It takes a
// few seconds (about 8 under the race detector, on 2 cores), so it is left
// out of -short runs only: CI runs it.
func TestGenerateMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a million spaces (run without -short, or BenchmarkGenerate1M)")
	}
	const n = 1_000_000
	start := time.Now()
	zones, spaces, err := Generate(Options{Spaces: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d zones, %d spaces in %v", len(zones), len(spaces), time.Since(start))
	if len(spaces) != n {
		t.Fatalf("%d spaces, want %d", len(spaces), n)
	}
	mustRegistry(t, zones, spaces) // the layout is checked on 100k in TestGenerateCity
}

func BenchmarkGenerate1M(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Generate(Options{Spaces: 1_000_000}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQiuai(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Qiuai()
	}
}
