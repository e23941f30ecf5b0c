package geo

import (
	"fmt"
	"math"
	"testing"
)

// The known pairs come from public sources, each named by its repository
// and file:
//   - coordtransform: github.com/wandergis/coordtransform, test/app.js
//     (its printed results for 116.404, 39.915 in Beijing);
//   - eviltransform: github.com/googollee/eviltransform,
//     python/tests.py (TESTS: Shanghai, Shenzhen, Beijing).
// coordtransform prints 14–17 digits and uses the same constants as this
// package: it must agree to 1e-9° (0.1 mm). eviltransform computes with
// the WGS-84 semi-major axis (6378137 m) where the published formula has
// Krasovsky's (6378245 m), which moves a point by under 1 m: it must agree
// to 1e-5° (about 1 m).

type pair struct {
	name           string
	inLat, inLon   float64
	outLat, outLon float64
	tol            float64
}

func check(t *testing.T, tc pair, conv func(lat, lon float64) (float64, float64)) {
	t.Helper()
	lat, lon := conv(tc.inLat, tc.inLon)
	if math.Abs(lat-tc.outLat) > tc.tol || math.Abs(lon-tc.outLon) > tc.tol {
		t.Errorf("%s: (%.10f, %.10f) → (%.10f, %.10f), want (%.10f, %.10f) ± %g",
			tc.name, tc.inLat, tc.inLon, lat, lon, tc.outLat, tc.outLon, tc.tol)
	}
}

func TestWGS84ToGCJ02KnownPairs(t *testing.T) {
	for _, tc := range []pair{
		{"coordtransform Beijing", 39.915, 116.404, 39.91640428150164, 116.41024449916938, 1e-9},
		{"eviltransform Shanghai", 31.1774276, 121.5272106, 31.17530398364597, 121.531541859215, 1e-5},
		{"eviltransform Shenzhen", 22.543847, 113.912316, 22.540796131694766, 113.9171764808363, 1e-5},
		{"eviltransform Beijing", 39.911954, 116.377817, 39.91334545536069, 116.38404722455657, 1e-5},
	} {
		check(t, tc, WGS84ToGCJ02)
	}
}

func TestGCJ02ToWGS84KnownPairsAndRoundTrip(t *testing.T) {
	// coordtransform's gcj02towgs84 is the one-step approximation (about
	// 1 m off); the iteration here is exact, so 1e-5°.
	check(t, pair{"coordtransform Beijing", 39.915, 116.404, 39.91359571849836, 116.39775550083061, 1e-5}, GCJ02ToWGS84)
	for _, p := range [][2]float64{{29.8521, 121.6402}, {31.1774276, 121.5272106}, {22.543847, 113.912316}, {45.75, 126.63}} {
		gLat, gLon := WGS84ToGCJ02(p[0], p[1])
		wLat, wLon := GCJ02ToWGS84(gLat, gLon)
		if math.Abs(wLat-p[0]) > 1e-9 || math.Abs(wLon-p[1]) > 1e-9 {
			t.Errorf("%v → GCJ-02 (%v, %v) → WGS-84 (%v, %v): not back", p, gLat, gLon, wLat, wLon)
		}
	}
}

func TestBD09KnownPairs(t *testing.T) {
	check(t, pair{"coordtransform gcj02tobd09", 39.915, 116.404, 39.92133699351021, 116.41036949371029, 1e-9}, GCJ02ToBD09)
	check(t, pair{"coordtransform bd09togcj02", 39.915, 116.404, 39.90865673957631, 116.39762729119315, 1e-9}, BD09ToGCJ02)
	// The inverse undoes the forward step to a few centimetres.
	for _, p := range [][2]float64{{29.8521, 121.6402}, {39.915, 116.404}} {
		bLat, bLon := GCJ02ToBD09(p[0], p[1])
		if lat, lon := BD09ToGCJ02(bLat, bLon); math.Abs(lat-p[0]) > 1e-6 || math.Abs(lon-p[1]) > 1e-6 {
			t.Errorf("%v → BD-09 (%v, %v) → GCJ-02 (%v, %v): not back", p, bLat, bLon, lat, lon)
		}
	}
}

func TestOutsideChinaUnchanged(t *testing.T) {
	for _, p := range [][2]float64{{51.5, -0.12}, {35.68, 139.76}, {-33.87, 151.21}} {
		for name, conv := range map[string]func(lat, lon float64) (float64, float64){"to GCJ-02": WGS84ToGCJ02, "to WGS-84": GCJ02ToWGS84} {
			if lat, lon := conv(p[0], p[1]); lat != p[0] || lon != p[1] {
				t.Errorf("%s %v moved to (%v, %v) outside China", name, p, lat, lon)
			}
		}
	}
}

func TestParseCRS(t *testing.T) {
	for in, want := range map[string]CRS{"": WGS84, "wgs84": WGS84, "gcj02": GCJ02} {
		if got, err := ParseCRS(in); err != nil || got != want {
			t.Errorf("ParseCRS(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"bd09", "WGS84", "epsg:4326"} {
		if _, err := ParseCRS(bad); err == nil {
			t.Errorf("ParseCRS(%q): no error", bad)
		}
	}
	if lat, lon := GCJ02.FromWGS84(29.85, 121.64); lat == 29.85 || lon == 121.64 {
		t.Error("GCJ02.FromWGS84 left a Qiuai position unchanged")
	}
	if lat, lon := WGS84.FromWGS84(29.85, 121.64); lat != 29.85 || lon != 121.64 {
		t.Error("WGS84.FromWGS84 moved a position")
	}
}

func ExampleWGS84ToGCJ02() {
	lat, lon := WGS84ToGCJ02(29.8521, 121.6402) // Qiuai, zone Z01
	fmt.Printf("GCJ-02 %.6f %.6f\n", lat, lon)
	lat, lon = GCJ02ToBD09(lat, lon)
	fmt.Printf("BD-09  %.6f %.6f\n", lat, lon)
	// Output:
	// GCJ-02 29.849501 121.644321
	// BD-09  29.855390 121.650828
}
