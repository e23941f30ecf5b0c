package redisstore

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/qiuai/parking/occupancy"
)

// freeView is the in-memory side of a FreeIndex for one version of the
// registry: every space's position, kind and zone, a grid of cells over
// them, and each space's status as last heard from Redis. The spatial part
// never changes; status is guarded by mu.
//
// Spaces are numbered zone by zone in registry order, by ID inside a zone,
// so an event's space is found by a binary search in its zone's range.
type freeView struct {
	reg     *occupancy.Registry // the snapshot the view was built from
	zones   []viewZone          // registry order
	zoneIdx map[string]int
	ids     []string
	geo     []uint64 // position as Redis' GEO stores it (geoEncode)
	kind    []uint8  // index into occupancy.Kinds
	zone    []int32  // index into zones
	cellDeg float64
	cells   map[uint64]cellSpan // cell key -> range of order
	order   []int32             // space numbers sorted by cell

	keepStates bool // hold free spaces' states (not with Confirm)

	mu     sync.RWMutex
	status []byte       // f, o, u or c; u until heard
	free   []int32      // free spaces by zone and kind: free[zone*len(occupancy.Kinds)+kind]
	packed []string     // a free space's state as read from Redis (scripts.go), else ""
	readMS []int64      // when packed was read (Unix ms)
	zc     []zoneCounts // per zone (freezones.go)
}

// viewZone is one zone of a freeView.
type viewZone struct {
	id             string
	typ            occupancy.ZoneType
	from, to       int32  // its spaces' numbers
	stream, states string // its event stream and states hash
	counters       string // its counters hash
}

// cellSpan is the part of freeView.order in one cell.
type cellSpan struct{ from, to int32 }

// newFreeView builds the view of reg's spaces, all unknown. cellM is the
// grid's cell size in metres; keepStates says whether to hold the states
// of free spaces.
func newFreeView(s *Store, reg *occupancy.Registry, cellM float64, keepStates bool) *freeView {
	v := &freeView{reg: reg, zoneIdx: map[string]int{}, cellDeg: cellM / metresPerDegree,
		cells: map[uint64]cellSpan{}, keepStates: keepStates}
	for zi, z := range reg.Zones() {
		spaces := reg.SpacesInZone(z.ID)
		k := s.keysFor(z.ID)
		vz := viewZone{id: z.ID, typ: z.Type, from: int32(len(v.ids)), stream: s.eventsKey(z.ID),
			states: k.states, counters: k.counters}
		for _, sp := range spaces {
			v.ids = append(v.ids, sp.ID)
			v.geo = append(v.geo, geoEncode(sp.Lat, sp.Lon))
			v.kind = append(v.kind, uint8(slices.Index(occupancy.Kinds, sp.Kind)))
			v.zone = append(v.zone, int32(zi))
		}
		vz.to = int32(len(v.ids))
		v.zones = append(v.zones, vz)
		v.zoneIdx[z.ID] = zi
	}
	v.status = make([]byte, len(v.ids))
	for i := range v.status {
		v.status[i] = 'u'
	}
	v.free = make([]int32, len(v.zones)*len(occupancy.Kinds))
	v.zc = make([]zoneCounts, len(v.zones))
	for zi, z := range v.zones {
		n := int(z.to - z.from)
		v.zc[zi] = zoneCounts{counts: occupancy.Counts{Total: n, Unknown: n}, level: occupancy.LevelUnknown}
	}
	if keepStates {
		v.packed, v.readMS = make([]string, len(v.ids)), make([]int64, len(v.ids))
	}
	v.buildGrid()
	return v
}

// buildGrid sorts the spaces by cell and indexes the cells.
func (v *freeView) buildGrid() {
	keys := make([]uint64, len(v.ids))
	v.order = make([]int32, len(v.ids))
	for i := range v.ids {
		lat, lon := geoDecode(v.geo[i])
		keys[i] = v.cellKey(v.cellOf(lat), v.cellOf(lon))
		v.order[i] = int32(i)
	}
	sort.Slice(v.order, func(a, b int) bool { return keys[v.order[a]] < keys[v.order[b]] })
	for i := 0; i < len(v.order); {
		k, j := keys[v.order[i]], i
		for j < len(v.order) && keys[v.order[j]] == k {
			j++
		}
		v.cells[k] = cellSpan{int32(i), int32(j)}
		i = j
	}
}

func (v *freeView) cellOf(deg float64) int64 { return int64(math.Floor(deg / v.cellDeg)) }

func (v *freeView) cellKey(latCell, lonCell int64) uint64 {
	return uint64(uint32(int32(latCell)))<<32 | uint64(uint32(int32(lonCell)))
}

// find returns the number of space id of zone zi.
func (v *freeView) find(zi int, id string) (int, bool) {
	z := v.zones[zi]
	ids := v.ids[z.from:z.to]
	i, ok := slices.BinarySearch(ids, id)
	return int(z.from) + i, ok
}

// setZone sets the state of zone zi's spaces from its states hash (space
// id -> packed state), read at readMS (a space missing there is unknown),
// and its level and time of change from its counters' level and updated.
func (v *freeView) setZone(zi int, states map[string]string, counters []any, readMS int64) {
	z := v.zones[zi]
	v.mu.Lock()
	defer v.mu.Unlock()
	v.setCounters(zi, counters)
	for i := z.from; i < z.to; i++ {
		v.set(i, states[v.ids[i]], readMS)
	}
}

// set sets space n's state from its packed state; v.mu must be held. Only
// a free space's packed state is kept (it is what nearby shows). A read
// older than the one the view holds (a refresh overtook it) is dropped.
func (v *freeView) set(n int32, packed string, readMS int64) {
	st := byte('u')
	if packed != "" {
		st = packed[0]
	}
	if !v.keepStates {
		v.setStatus(n, st)
		return
	}
	if readMS < v.readMS[n] {
		return
	}
	v.setStatus(n, st)
	v.packed[n], v.readMS[n] = "", readMS
	if st == 'f' {
		v.packed[n] = packed
	}
}

// setStatus sets space n's status and keeps the free counts; v.mu must be
// held.
func (v *freeView) setStatus(n int32, st byte) {
	old := v.status[n]
	if old == st {
		return
	}
	v.status[n] = st
	v.zc[v.zone[n]].move(old, st)
	i := int(v.zone[n])*len(occupancy.Kinds) + int(v.kind[n])
	switch {
	case old == 'f':
		v.free[i]--
	case st == 'f':
		v.free[i]++
	}
}

// freeIn returns how many spaces of kind (any: "") zone zi holds free.
func (v *freeView) freeIn(zi int, kind occupancy.Kind) int {
	counts := v.free[zi*len(occupancy.Kinds) : (zi+1)*len(occupancy.Kinds)]
	v.mu.RLock()
	defer v.mu.RUnlock()
	if kind != "" {
		return int(counts[slices.Index(occupancy.Kinds, kind)])
	}
	n := 0
	for _, c := range counts {
		n += int(c)
	}
	return n
}

// setSpaces sets the states of the spaces numbered nums from their packed
// states (nil: none stored, unknown), read at readMS.
func (v *freeView) setSpaces(nums []int32, vals []any, readMS int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, n := range nums {
		p, _ := vals[i].(string)
		v.set(n, p, readMS)
	}
}

// states returns the states of the candidates, as last read, and when.
func (v *freeView) states(cands []candidate) ([]string, []int64) {
	packed, at := make([]string, len(cands)), make([]int64, len(cands))
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i, c := range cands {
		packed[i], at[i] = v.packed[c.n], v.readMS[c.n]
	}
	return packed, at
}

// candidate is a free space found in the view.
type candidate struct {
	n    int32
	dist float64 // metres, as Redis' GEORADIUS reports it (4 decimals)
}

// nearest returns up to k free spaces of the view within q's circle,
// nearest first (ties by ID), with the distances GEORADIUS would give.
func (v *freeView) nearest(q occupancy.NearbyQuery, k int) []candidate {
	kind := -1
	if q.Kind != "" {
		kind = slices.Index(occupancy.Kinds, q.Kind)
	}
	dLat := (q.RadiusM*1.01 + 2) / metresPerDegree
	cosLat := math.Max(math.Cos(math.Min(math.Abs(q.Lat)+dLat, 89.9)*math.Pi/180), 0.01)
	dLon := dLat / cosLat
	lat0, lat1 := v.cellOf(q.Lat-dLat), v.cellOf(q.Lat+dLat)
	lon0, lon1 := v.cellOf(max(q.Lon-dLon, -180)), v.cellOf(min(q.Lon+dLon, 180))
	// lowerBound is at most the distance to a point (flat earth with the
	// box's smallest meridian scale, less 1 % and 1 m: a great circle of
	// at most 5 km barely bends), so the exact haversine runs only for
	// points that may be close enough.
	lowerBound := func(lat, lon float64) float64 {
		y, x := (lat-q.Lat)*metresPerDegree, (lon-q.Lon)*metresPerDegree*cosLat
		return math.Sqrt(x*x+y*y)*0.99 - 1
	}
	var out []candidate
	v.mu.RLock()
	defer v.mu.RUnlock()
	for la := lat0; la <= lat1; la++ {
		for lo := lon0; lo <= lon1; lo++ {
			c, ok := v.cells[v.cellKey(la, lo)]
			if !ok {
				continue
			}
			for _, n := range v.order[c.from:c.to] {
				if v.status[n] != 'f' || kind >= 0 && int(v.kind[n]) != kind ||
					q.ZoneType != "" && v.zones[v.zone[n]].typ != q.ZoneType {
					continue
				}
				lat, lon := geoDecode(v.geo[n])
				if lb := lowerBound(lat, lon); lb > q.RadiusM || len(out) == k && lb > out[k-1].dist {
					continue
				}
				d := geoDistance(q.Lon, q.Lat, lon, lat)
				if d > q.RadiusM {
					continue
				}
				out = v.keepNearest(out, candidate{n, math.Round(d*1e4) / 1e4}, k)
			}
		}
	}
	return out
}

// keepNearest inserts c into out, kept sorted by distance then ID and at
// most k long.
func (v *freeView) keepNearest(out []candidate, c candidate, k int) []candidate {
	less := func(a, b candidate) int {
		if a.dist != b.dist {
			return cmp.Compare(a.dist, b.dist)
		}
		return cmp.Compare(v.ids[a.n], v.ids[b.n])
	}
	if len(out) == k && less(c, out[k-1]) >= 0 {
		return out
	}
	i, _ := slices.BinarySearchFunc(out, c, less)
	if len(out) == k {
		out = out[:k-1]
	}
	return slices.Insert(out, i, c)
}

// matches reports whether sp is still the space numbered n: same zone,
// kind and position (a reload may have changed it).
func (v *freeView) matches(n int32, sp occupancy.Space) bool {
	return sp.ID == v.ids[n] && sp.ZoneID == v.zones[v.zone[n]].id &&
		int(v.kind[n]) == slices.Index(occupancy.Kinds, sp.Kind) && geoEncode(sp.Lat, sp.Lon) == v.geo[n]
}

// The GEO model of Redis (src/geohash.c, geohash_helper.c), so the view
// finds the spaces GEORADIUS finds at the distances it reports: positions
// are quantised to 26 bits per axis and distances are haversine on Redis'
// earth radius.
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
