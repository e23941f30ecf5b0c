package town

import (
	"fmt"
	"math/rand/v2"

	"github.com/qiuai/parking/occupancy"
)

// The synthetic city is a square spiral of cells around the centre, one zone
// per cell. A zone of up to cityMaxZone bays fits in about 320 m, so cells of
// cityCell metres keep neighbouring zones well apart.
const (
	cityCell    = 400.0
	cityMinZone = 100
	cityMaxZone = 600
	cityKerb    = 47   // bays on one kerb of a synthetic street (about 280 m)
	cityBlock   = 34.0 // between the kerbs of neighbouring synthetic streets
)

// city builds a synthetic city of exactly n spaces, n >= cityMinZone: zones
// of cityMinZone-cityMaxZone spaces of mixed kinds, busier near the centre,
// more residential further out, rolled out in three rings of phases.
func city(n int, seed int64) ([]occupancy.Zone, []occupancy.Space) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	sizes := zoneSizes(n, rng)
	cells := spiral(len(sizes))
	bd := builder{prefix: "C", zones: make([]occupancy.Zone, 0, len(sizes)), spaces: make([]occupancy.Space, 0, n)}
	for i, size := range sizes {
		outer := float64(i) / float64(len(sizes)) // 0 at the centre, towards 1 at the edge
		spec := cityZone(i, size, outer, rng)
		spec.at = cells[i]
		bd.add(spec)
	}
	return bd.zones, bd.spaces
}

// zoneSizes splits n into zone sizes of cityMinZone to cityMaxZone.
func zoneSizes(n int, rng *rand.Rand) []int {
	var sizes []int
	for n > cityMaxZone {
		size := cityMinZone + rng.IntN(min(cityMaxZone, n-cityMinZone)-cityMinZone+1)
		sizes = append(sizes, size)
		n -= size
	}
	return append(sizes, n)
}

// spiral returns the centres of the first n cells of a square spiral around
// the centre, ring by ring.
func spiral(n int) []pt {
	cells := []pt{{0, 0}}
	for ring := 1; len(cells) < n; ring++ {
		for _, c := range ringCells(ring) {
			cells = append(cells, pt{float64(c[0]) * cityCell, float64(c[1]) * cityCell})
		}
	}
	return cells[:n]
}

// ringCells lists the grid cells at Chebyshev distance ring from the origin,
// anticlockwise from the east.
func ringCells(ring int) [][2]int {
	out := make([][2]int, 0, 8*ring)
	for y := -ring + 1; y <= ring; y++ { // east side, going north
		out = append(out, [2]int{ring, y})
	}
	for x := ring - 1; x >= -ring; x-- { // north side, going west
		out = append(out, [2]int{x, ring})
	}
	for y := ring - 1; y >= -ring; y-- { // west side, going south
		out = append(out, [2]int{-ring, y})
	}
	for x := -ring + 1; x <= ring; x++ { // south side, going east
		out = append(out, [2]int{x, -ring})
	}
	return out
}

// cityKind is one kind of synthetic zone and how often it occurs at the
// centre (weight at outer = 0) and at the edge (outer = 1).
type cityKind struct {
	typ          occupancy.ZoneType
	profile      occupancy.Profile
	inner, outer float64
}

var cityKinds = []cityKind{
	{occupancy.OnStreet, occupancy.ProfileCommuter, 0.35, 0.20},
	{occupancy.OnStreet, occupancy.ProfileMarket, 0.15, 0.05},
	{occupancy.OffStreet, occupancy.ProfileCommuter, 0.30, 0.15},
	{occupancy.OffStreet, occupancy.ProfileResidential, 0.20, 0.60},
}

// pickKind draws a zone kind with the weights at distance outer.
func pickKind(outer float64, rng *rand.Rand) cityKind {
	x := rng.Float64()
	for _, k := range cityKinds {
		w := k.inner + (k.outer-k.inner)*outer
		if x < w {
			return k
		}
		x -= w
	}
	return cityKinds[len(cityKinds)-1]
}

// cityZone designs the i-th synthetic zone, of size spaces.
func cityZone(i, size int, outer float64, rng *rand.Rand) zoneSpec {
	k := pickKind(outer, rng)
	spec := zoneSpec{id: fmt.Sprintf("Z%04d", i+1), typ: k.typ, profile: k.profile, phase: 1 + int(3*outer)}
	if k.typ == occupancy.OnStreet {
		return cityStreets(spec, size, i, rng)
	}
	return cityLot(spec, size, i, rng)
}

// cityStreets lays a synthetic on-street zone: parallel streets with bays
// along both kerbs.
func cityStreets(spec zoneSpec, size, i int, rng *rand.Rand) zoneSpec {
	cols := fitCols(size, cityKerb-7, cityKerb)
	g := lot{angle: rng.Float64()*16 - 8, cols: cols, rows: ceilDiv(size, cols), last: size % cols,
		pitch: streetPitch, depth: 2 * streetSide, aisle: cityBlock}
	stays := []int{60, 90, 120}
	kinds := streetKinds{accessibleEvery: 3, loadingEvery: 2, loadingBays: 1, evEvery: 6}
	spec.name = cityName(i, roadNames, "路")
	if spec.profile == occupancy.ProfileMarket {
		stays = []int{30, 60}
		kinds = streetKinds{accessibleEvery: 4, loadingEvery: 1, loadingBays: 2}
		spec.name = cityName(i, roadNames, "菜场街")
	}
	spec.parts = []part{{shape: g, maxStay: stays[rng.IntN(len(stays))]}}
	spec.kinds = kinds.rule()
	return spec
}

// cityLot lays a synthetic car park.
func cityLot(spec zoneSpec, size, i int, rng *rand.Rand) zoneSpec {
	cols := fitCols(size, 20, 40)
	g := lot{angle: rng.Float64() * 180, cols: cols, rows: ceilDiv(size, cols), last: size % cols}
	spec.parts = []part{{shape: g}}
	spec.kinds = lotKinds{accessible: 0.02 + 0.02*rng.Float64(), ev: 0.04 + 0.06*rng.Float64()}.rule()
	spec.name = cityName(i, placeNames, "公共停车场")
	if spec.profile == occupancy.ProfileResidential {
		spec.name = cityName(i, placeNames, "花园停车场")
	}
	return spec
}

// fitCols picks a row length in lo..hi, as long as possible, that does not
// leave a last row of a single bay (it would stand alone across an aisle).
func fitCols(size, lo, hi int) int {
	for c := hi; c > lo; c-- {
		if size%c != 1 {
			return c
		}
	}
	return lo
}

// ceilDiv is a/b rounded up.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// roadNames and placeNames are common Ningbo name stems.
var (
	roadNames  = []string{"中山", "解放", "人民", "和平", "兴宁", "百丈", "福明", "天童", "钱湖", "宁穿", "鄞州", "四明", "惊驾", "嵩江", "前河", "桑田"}
	placeNames = []string{"东湖", "明湖", "金谷", "银杏", "桃源", "彩虹", "潘火", "五乡", "东吴", "下应", "首南", "姜山", "横溪", "塘溪", "云龙", "咸祥"}
)

// cityName names the i-th zone: a stem, a suffix and a number that tells
// zones of the same stem apart.
func cityName(i int, stems []string, suffix string) string {
	return fmt.Sprintf("%s%s%d号", stems[i%len(stems)], suffix, i/len(stems)+1)
}
