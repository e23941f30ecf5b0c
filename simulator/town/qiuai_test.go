package town

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

// committed is the registry folder `go generate ./simulator/town` writes.
const committed = "../../configs/qiuai"

func TestQiuaiIsDeterministic(t *testing.T) {
	z1, s1 := Qiuai()
	z2, s2 := Qiuai()
	if !reflect.DeepEqual(z1, z2) || !reflect.DeepEqual(s1, s2) {
		t.Fatal("two calls of Qiuai returned different towns")
	}
	a, b := t.TempDir(), t.TempDir()
	if err := WriteRegistry(a, z1, s1); err != nil {
		t.Fatal(err)
	}
	if err := WriteRegistry(b, z2, s2); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zones.yaml", "spaces.csv"} {
		if !bytes.Equal(readFile(t, filepath.Join(a, name)), readFile(t, filepath.Join(b, name))) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func TestCommittedRegistryIsCurrent(t *testing.T) {
	dir := t.TempDir()
	zones, spaces := Qiuai()
	if err := WriteRegistry(dir, zones, spaces); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zones.yaml", "spaces.csv"} {
		got, want := readFile(t, filepath.Join(committed, name)), readFile(t, filepath.Join(dir, name))
		if !bytes.Equal(got, want) {
			t.Errorf("configs/qiuai/%s is not what the generator writes now; run `go generate ./simulator/town`", name)
		}
	}
}

func TestCommittedRegistryLoads(t *testing.T) {
	reg, err := occupancy.LoadRegistry(committed)
	if err != nil {
		t.Fatalf("LoadRegistry(%s): %v", committed, err)
	}
	zones, spaces := Qiuai()
	if !reflect.DeepEqual(reg.Zones(), zones) {
		t.Errorf("loaded zones differ from Qiuai()")
	}
	if !reflect.DeepEqual(reg.Spaces(), spaces) { // Qiuai's order is id order
		t.Errorf("loaded spaces differ from Qiuai()")
	}
}

func TestQiuaiPlan(t *testing.T) {
	zones, spaces := Qiuai()
	if len(spaces) < 3000 || len(zones) < 10 || len(zones) > 16 {
		t.Fatalf("%d zones and %d spaces, want 10-16 zones and 3000+ spaces", len(zones), len(spaces))
	}
	reg := mustRegistry(t, zones, spaces)
	checkIDs(t, zones, spaces, regexp.MustCompile(`^Z\d\d$`), regexp.MustCompile(`^QA-Z\d\d-\d{4}$`))
	checkMix(t, zones, spaces)
	checkLayout(t, reg, 450)
	for _, z := range zones {
		if d := occupancy.Distance(CentreLat, CentreLon, z.Lat, z.Lon); d < 200 || d > 2000 {
			t.Errorf("zone %s is %.0f m from the centre, want 200 m - 2 km", z.ID, d)
		}
	}
}

func TestQiuaiKindShares(t *testing.T) {
	_, spaces := Qiuai()
	counts := kindCounts(spaces)
	share := func(k occupancy.Kind) float64 { return float64(counts[k]) / float64(len(spaces)) }
	if s := share(occupancy.KindAccessible); s < 0.03 || s > 0.05 {
		t.Errorf("accessible share %.3f, want 0.03-0.05", s)
	}
	if s := share(occupancy.KindEV); s < 0.04 || s > 0.06 {
		t.Errorf("ev share %.3f, want 0.04-0.06", s)
	}
	if s := share(occupancy.KindLoading); s == 0 || s > 0.03 {
		t.Errorf("loading share %.3f, want a few, at most 0.03", s)
	}
}

// TestQiuaiRules checks each space against the rules of its zone's kind.
func TestQiuaiRules(t *testing.T) {
	zones, spaces := Qiuai()
	reg := mustRegistry(t, zones, spaces)
	evInLots, accessibleZone := 0, false
	for _, z := range zones {
		in := reg.SpacesInZone(z.ID)
		if kindCounts(in)[occupancy.KindAccessible]*10 >= len(in) {
			accessibleZone = true // the hospital or school: 10%+ accessible
		}
		for _, s := range in {
			if z.Type == occupancy.OffStreet && s.Kind == occupancy.KindEV {
				evInLots++
			}
			if err := checkRule(z, s); err != "" {
				t.Errorf("zone %s (%s %s) space %s %s max %d: %s", z.ID, z.Type, z.Profile, s.ID, s.Kind, s.MaxStayMin, err)
			}
		}
	}
	if ev := kindCounts(spaces)[occupancy.KindEV]; evInLots*10 < ev*8 {
		t.Errorf("%d of %d EV bays are in lots, want most (80%%+)", evInLots, ev)
	}
	if !accessibleZone {
		t.Error("no zone (school, hospital) with 10%+ accessible spaces")
	}
}

// checkRule returns what is wrong with space s in zone z, or "".
func checkRule(z occupancy.Zone, s occupancy.Space) string {
	limited := s.Kind == occupancy.KindStandard || s.Kind == occupancy.KindAccessible
	switch {
	case s.Kind == occupancy.KindLoading && z.Type != occupancy.OnStreet:
		return "loading bay off the street"
	case s.Kind == occupancy.KindLoading && (s.MaxStayMin == 0 || s.MaxStayMin > 30):
		return "loading bay limit not 1-30 min"
	case z.Type == occupancy.OnStreet && s.MaxStayMin == 0:
		return "on-street bay without a time limit"
	case z.Type == occupancy.OnStreet && z.Profile == occupancy.ProfileMarket && s.MaxStayMin > 60:
		return "market bay limit over 60 min"
	case z.Type == occupancy.OffStreet && limited && s.MaxStayMin != 0:
		return "lot bay with a time limit"
	case z.Type == occupancy.OffStreet && s.Kind == occupancy.KindEV && s.MaxStayMin != 0 && s.MaxStayMin != 240:
		return "lot EV bay limit not none or 240"
	}
	return ""
}

func TestQiuaiPhaseOneIsTheOldTown(t *testing.T) {
	zones, spaces := Qiuai()
	reg := mustRegistry(t, zones, spaces)
	for _, s := range spaces {
		z, _ := reg.Zone(s.ZoneID)
		if s.Phase == 1 && z.Type != occupancy.OnStreet {
			t.Errorf("phase 1 space %s is in %s zone %s, want only old-town streets", s.ID, z.Type, z.ID)
		}
		if d := occupancy.Distance(CentreLat, CentreLon, s.Lat, s.Lon); s.Phase == 1 && d > 1000 {
			t.Errorf("phase 1 space %s is %.0f m from the centre, want the old town (< 1 km)", s.ID, d)
		}
	}
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
