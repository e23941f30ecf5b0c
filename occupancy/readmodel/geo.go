package readmodel

import "math"

// The GEO model of Redis (src/geohash.c, geohash_helper.c), so that the
// view finds the spaces the store's GEORADIUS path finds, at the distances
// it reports, and the two paths answer alike: positions are quantised to 26
// bits per axis and distances are haversine on Redis' earth radius.
const (
	geoStep         = 26
	geoEarthRadiusM = 6372797.560856
	metresPerDegree = geoEarthRadiusM * math.Pi / 180
)

var (
	geoLatMin, geoLatMax = -85.05112878, 85.05112878
	geoLonMin, geoLonMax = -180.0, 180.0
)

// geoEncode quantises a position as GEOADD does: the latitude cell in the
// low 32 bits, the longitude cell in the high 32.
func geoEncode(lat, lon float64) uint64 {
	latOff := (lat - geoLatMin) / (geoLatMax - geoLatMin) * (1 << geoStep)
	lonOff := (lon - geoLonMin) / (geoLonMax - geoLonMin) * (1 << geoStep)
	return uint64(uint32(lonOff))<<32 | uint64(uint32(latOff))
}

// geoDecode returns the centre of a quantised position's cell, as Redis
// reads a GEO member back.
func geoDecode(h uint64) (lat, lon float64) {
	ilat, ilon := float64(uint32(h)), float64(uint32(h>>32))
	const steps = float64(1 << geoStep)
	latScale, lonScale := geoLatMax-geoLatMin, geoLonMax-geoLonMin
	latLo, latHi := geoLatMin+(ilat/steps)*latScale, geoLatMin+((ilat+1)/steps)*latScale
	lonLo, lonHi := geoLonMin+(ilon/steps)*lonScale, geoLonMin+((ilon+1)/steps)*lonScale
	lat, lon = (latLo+latHi)/2, (lonLo+lonHi)/2
	return min(max(lat, geoLatMin), geoLatMax), min(max(lon, geoLonMin), geoLonMax)
}

// geoDistance is Redis' geohashGetDistance, in metres.
func geoDistance(lon1, lat1, lon2, lat2 float64) float64 {
	const dr = math.Pi / 180.0
	lon1r, lon2r := lon1*dr, lon2*dr
	v := math.Sin((lon2r - lon1r) / 2)
	if v == 0 {
		return geoEarthRadiusM * math.Abs(lat2*dr-lat1*dr)
	}
	lat1r, lat2r := lat1*dr, lat2*dr
	u := math.Sin((lat2r - lat1r) / 2)
	a := u*u + math.Cos(lat1r)*math.Cos(lat2r)*v*v
	return 2.0 * geoEarthRadiusM * math.Asin(math.Sqrt(a))
}
