// Package geo converts coordinates between the systems that maps in China
// use: WGS-84 (GPS, OpenStreetMap, the registry), GCJ-02 (the national
// survey's offset system that AMap, Tencent Maps and China's Google tiles
// use) and BD-09 (Baidu Maps, a further offset on GCJ-02).
//
// The WGS-84 → GCJ-02 formula is the published one (the leaked reference
// implementation that every open library repeats, e.g. coordtransform and
// eviltransform); GCJ-02 → WGS-84 has no closed form and is solved by
// iteration. The web pages carry the same algorithm in JavaScript
// (httpapi/web/static/geo.js); the browser tests check that both give the
// same numbers.
package geo

import (
	"fmt"
	"math"
)

// CRS names a coordinate system a tile source draws in.
type CRS string

// The coordinate systems a tile source may use.
const (
	WGS84 CRS = "wgs84"
	GCJ02 CRS = "gcj02"
)

// ParseCRS returns the CRS named s ("wgs84" or "gcj02"; "" means wgs84).
func ParseCRS(s string) (CRS, error) {
	switch CRS(s) {
	case "", WGS84:
		return WGS84, nil
	case GCJ02:
		return GCJ02, nil
	}
	return "", fmt.Errorf("geo: coordinate system %q is not wgs84 or gcj02", s)
}

// FromWGS84 converts a WGS-84 position into c.
func (c CRS) FromWGS84(lat, lon float64) (float64, float64) {
	if c == GCJ02 {
		return WGS84ToGCJ02(lat, lon)
	}
	return lat, lon
}

// Constants of the published GCJ-02 formula: the Krasovsky 1940
// ellipsoid's semi-major axis and first eccentricity squared.
const (
	krasovskyA  = 6378245.0
	krasovskyEE = 0.00669342162296594323
	// bdXPi is Baidu's constant (π·3000/180) of the GCJ-02 ↔ BD-09 step.
	bdXPi = math.Pi * 3000.0 / 180.0
)

// OutOfChina reports whether a position lies outside the rough box of
// China's territory, where GCJ-02 equals WGS-84 (the box of the published
// implementation: longitude 72.004–137.8347, latitude 0.8293–55.8271).
func OutOfChina(lat, lon float64) bool {
	return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271
}

// WGS84ToGCJ02 converts a WGS-84 position to GCJ-02; outside China it
// returns the position unchanged.
func WGS84ToGCJ02(lat, lon float64) (float64, float64) {
	if OutOfChina(lat, lon) {
		return lat, lon
	}
	dLat, dLon := offset(lat, lon)
	return lat + dLat, lon + dLon
}

// GCJ02ToWGS84 converts a GCJ-02 position back to WGS-84, iterating until
// the forward conversion of the answer is within 1e-10° (about 0.01 mm)
// of the input; outside China it returns the position unchanged.
func GCJ02ToWGS84(lat, lon float64) (float64, float64) {
	if OutOfChina(lat, lon) {
		return lat, lon
	}
	wLat, wLon := lat, lon
	for range 30 {
		gLat, gLon := WGS84ToGCJ02(wLat, wLon)
		eLat, eLon := gLat-lat, gLon-lon
		if math.Abs(eLat) < 1e-10 && math.Abs(eLon) < 1e-10 {
			break
		}
		wLat, wLon = wLat-eLat, wLon-eLon
	}
	return wLat, wLon
}

// GCJ02ToBD09 converts a GCJ-02 position to Baidu's BD-09.
func GCJ02ToBD09(lat, lon float64) (float64, float64) {
	z := math.Sqrt(lon*lon+lat*lat) + 0.00002*math.Sin(lat*bdXPi)
	theta := math.Atan2(lat, lon) + 0.000003*math.Cos(lon*bdXPi)
	return z*math.Sin(theta) + 0.006, z*math.Cos(theta) + 0.0065
}

// BD09ToGCJ02 converts a BD-09 position to GCJ-02 (the published inverse,
// good to a few centimetres).
func BD09ToGCJ02(lat, lon float64) (float64, float64) {
	x, y := lon-0.0065, lat-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	return z * math.Sin(theta), z * math.Cos(theta)
}

// offset is GCJ-02 minus WGS-84 at a WGS-84 position, in degrees.
func offset(lat, lon float64) (float64, float64) {
	x, y := lon-105.0, lat-35.0
	dLat := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	dLat += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	dLat += (20.0*math.Sin(y*math.Pi) + 40.0*math.Sin(y/3.0*math.Pi)) * 2.0 / 3.0
	dLat += (160.0*math.Sin(y/12.0*math.Pi) + 320*math.Sin(y*math.Pi/30.0)) * 2.0 / 3.0
	dLon := 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	dLon += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	dLon += (20.0*math.Sin(x*math.Pi) + 40.0*math.Sin(x/3.0*math.Pi)) * 2.0 / 3.0
	dLon += (150.0*math.Sin(x/12.0*math.Pi) + 300.0*math.Sin(x/30.0*math.Pi)) * 2.0 / 3.0
	rad := lat / 180.0 * math.Pi
	magic := 1 - krasovskyEE*math.Sin(rad)*math.Sin(rad)
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((krasovskyA * (1 - krasovskyEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (dLon * 180.0) / (krasovskyA / sqrtMagic * math.Cos(rad) * math.Pi)
	return dLat, dLon
}
