package town

import (
	"fmt"
	"math"
	"regexp"
	"testing"

	"github.com/qiuai/parking/occupancy"
)

// Layout limits every generated town must keep.
const (
	maxNeighbour = 15.0 // every space has another space this close
	minSpacing   = 2.0  // no two spaces are closer than this
)

// mustRegistry checks every zone and space on its own and indexes them the
// way parkd does; it fails the test on any error.
func mustRegistry(tb testing.TB, zones []occupancy.Zone, spaces []occupancy.Space) *occupancy.Registry {
	tb.Helper()
	for i := range zones {
		if err := zones[i].Validate(); err != nil {
			tb.Fatalf("zone %s: %v", zones[i].ID, err)
		}
	}
	for i := range spaces {
		if err := spaces[i].Validate(); err != nil {
			tb.Fatalf("space %s: %v", spaces[i].ID, err)
		}
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		tb.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

// checkLayout asserts that every zone's spaces lie within maxRadius metres of
// its centre, that every space has a neighbour within maxNeighbour metres,
// and that no two spaces are closer than minSpacing.
func checkLayout(tb testing.TB, reg *occupancy.Registry, maxRadius float64) {
	tb.Helper()
	for _, z := range reg.Zones() {
		if r := reg.ZoneRadius(z.ID); r > maxRadius {
			tb.Errorf("zone %s: farthest space is %.0f m from its centre, want <= %.0f m", z.ID, r, maxRadius)
		}
	}
	spaces := reg.Spaces()
	nn, closest, pair := neighbours(spaces, maxNeighbour)
	lonely := 0
	for i, d := range nn {
		if d > maxNeighbour {
			if lonely++; lonely <= 5 {
				tb.Errorf("space %s: no other space within %.0f m", spaces[i].ID, maxNeighbour)
			}
		}
	}
	if lonely > 5 {
		tb.Errorf("... and %d more spaces without a neighbour within %.0f m", lonely-5, maxNeighbour)
	}
	if closest < minSpacing {
		tb.Errorf("spaces %s and %s are %.2f m apart, want >= %.0f m",
			spaces[pair[0]].ID, spaces[pair[1]].ID, closest, minSpacing)
	}
}

// neighbours returns, for each space, the great-circle distance to its
// nearest other space (+Inf when none is within reach metres), and the
// closest pair overall. Spaces are bucketed in a grid of reach-sized cells
// so that only the 3x3 cells around each space need checking.
func neighbours(spaces []occupancy.Space, reach float64) (nn []float64, closest float64, pair [2]int) {
	f := newFrame(CentreLat, CentreLon)
	cell := reach * 1.05 // slack for the flat projection far from the centre
	key := func(s occupancy.Space) [2]int {
		return [2]int{int(math.Floor((s.Lon - f.lon) * f.mPerDegLon / cell)), int(math.Floor((s.Lat - f.lat) * mPerDegLat / cell))}
	}
	grid := make(map[[2]int][]int, len(spaces))
	for i, s := range spaces {
		grid[key(s)] = append(grid[key(s)], i)
	}
	nn, closest = make([]float64, len(spaces)), math.Inf(1)
	for i, s := range spaces {
		nn[i] = math.Inf(1)
		k := key(s)
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				for _, j := range grid[[2]int{k[0] + dx, k[1] + dy}] {
					if j == i {
						continue
					}
					d := occupancy.Distance(s.Lat, s.Lon, spaces[j].Lat, spaces[j].Lon)
					nn[i] = math.Min(nn[i], d)
					if d < closest {
						closest, pair = d, [2]int{i, j}
					}
				}
			}
		}
	}
	return nn, closest, pair
}

// checkIDs asserts the id formats and that sensors are numbered S-000001
// onwards in registry order.
func checkIDs(tb testing.TB, zones []occupancy.Zone, spaces []occupancy.Space, zoneID, spaceID *regexp.Regexp) {
	tb.Helper()
	for _, z := range zones {
		if !zoneID.MatchString(z.ID) {
			tb.Fatalf("zone id %q does not match %s", z.ID, zoneID)
		}
	}
	for i, s := range spaces {
		if !spaceID.MatchString(s.ID) {
			tb.Fatalf("space id %q does not match %s", s.ID, spaceID)
		}
		if want := fmt.Sprintf("S-%06d", i+1); s.SensorID != want {
			tb.Fatalf("space %s: sensor %s, want %s", s.ID, s.SensorID, want)
		}
	}
}

// kindCounts counts spaces by kind.
func kindCounts(spaces []occupancy.Space) map[occupancy.Kind]int {
	counts := map[occupancy.Kind]int{}
	for _, s := range spaces {
		counts[s.Kind]++
	}
	return counts
}

// checkMix asserts that every kind, zone type, profile and phase 1-3 occurs.
func checkMix(tb testing.TB, zones []occupancy.Zone, spaces []occupancy.Space) {
	tb.Helper()
	kinds := kindCounts(spaces)
	for _, k := range occupancy.Kinds {
		if kinds[k] == 0 {
			tb.Errorf("no %s spaces", k)
		}
	}
	seen := map[string]bool{}
	for _, z := range zones {
		seen[string(z.Type)], seen[string(z.Profile)] = true, true
	}
	for _, want := range []string{"on_street", "off_street", "commuter", "residential", "market"} {
		if !seen[want] {
			tb.Errorf("no %s zone", want)
		}
	}
	phases := map[int]int{}
	for _, s := range spaces {
		phases[s.Phase]++
	}
	for p := 1; p <= 3; p++ {
		if phases[p] == 0 {
			tb.Errorf("no spaces in phase %d", p)
		}
	}
	if len(phases) != 3 {
		tb.Errorf("phases %v, want only 1-3", phases)
	}
}
