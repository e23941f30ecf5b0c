package readmodel

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// view is the read model of one version of the registry: every space's
// position, kind and zone, a grid of cells over them, and each space's
// status as last heard. The spatial part never changes; the rest is
// guarded by mu.
//
// Spaces are numbered zone by zone in registry order, by ID inside a zone,
// so an event's space is found by a binary search in its zone's range.
type view struct {
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
	states []*kept      // a free space's state as read from the store, else nil
	readMS []int64      // when states[n] was read (Unix ms)
	zc     []zoneCounts // per zone
	pos    []string     // per zone: position of its last snapshot; events up to it are in it
}

// viewZone is one zone of a view.
type viewZone struct {
	id       string
	typ      occupancy.ZoneType
	from, to int32 // its spaces' numbers
}

// cellSpan is the part of view.order in one cell.
type cellSpan struct{ from, to int32 }

// zoneCounts is a view's counters of one zone: the counts of the statuses
// the view holds for the zone's spaces (so they are the sum of its spaces
// by construction, as the stored counters are), and the level and time of
// the newest change heard.
type zoneCounts struct {
	counts    occupancy.Counts
	level     occupancy.Level
	updatedMS int64 // Unix ms of the newest change heard; 0: none
}

// newView builds the view of reg's spaces, all unknown. cellM is the grid's
// cell size in metres; keepStates says whether to hold the states of free
// spaces.
func newView(reg *occupancy.Registry, cellM float64, keepStates bool) *view {
	v := &view{reg: reg, zoneIdx: map[string]int{}, cellDeg: cellM / metresPerDegree,
		cells: map[uint64]cellSpan{}, keepStates: keepStates}
	for zi, z := range reg.Zones() {
		vz := viewZone{id: z.ID, typ: z.Type, from: int32(len(v.ids))}
		for _, sp := range reg.SpacesInZone(z.ID) {
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
	v.pos = make([]string, len(v.zones))
	for zi, z := range v.zones {
		n := int(z.to - z.from)
		v.zc[zi] = zoneCounts{counts: occupancy.Counts{Total: n, Unknown: n}, level: occupancy.LevelUnknown}
		v.pos[zi] = occupancy.StartPosition
	}
	if keepStates {
		v.states, v.readMS = make([]*kept, len(v.ids)), make([]int64, len(v.ids))
	}
	v.buildGrid()
	return v
}

// buildGrid sorts the spaces by cell and indexes the cells.
func (v *view) buildGrid() {
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

func (v *view) cellOf(deg float64) int64 { return int64(math.Floor(deg / v.cellDeg)) }

func (v *view) cellKey(latCell, lonCell int64) uint64 {
	return uint64(uint32(int32(latCell)))<<32 | uint64(uint32(int32(lonCell)))
}

// find returns the number of space id of zone zi.
func (v *view) find(zi int, id string) (int32, bool) {
	z := v.zones[zi]
	i, ok := slices.BinarySearch(v.ids[z.from:z.to], id)
	return z.from + int32(i), ok
}

// setSnapshot sets zone zi from a snapshot read at readMS: its spaces'
// states (a space missing there is unknown), level, time of change and
// position.
func (v *view) setSnapshot(zi int, snap occupancy.ZoneSnapshot, readMS int64) {
	z := v.zones[zi]
	v.mu.Lock()
	defer v.mu.Unlock()
	v.zc[zi].level, v.zc[zi].updatedMS = snap.Level, 0
	if !snap.UpdatedAt.IsZero() {
		v.zc[zi].updatedMS = snap.UpdatedAt.UnixMilli()
	}
	for n := z.from; n < z.to; n++ {
		st, ok := snap.Free[v.ids[n]]
		if !ok {
			st = occupancy.SpaceState{SpaceID: v.ids[n], Status: snap.Statuses[v.ids[n]]}
		}
		v.set(n, st, readMS)
	}
	v.pos[zi] = snap.Position
}

// setStates sets the states of the spaces numbered nums, read at readMS.
func (v *view) setStates(nums []int32, states []occupancy.SpaceState, readMS int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, n := range nums {
		v.set(n, states[i], readMS)
	}
}

// set sets space n's state as read at readMS; v.mu must be held. Only a
// free space's state is kept (it is what nearby shows). A read older than
// the one the view holds (a refresh overtook it) is dropped.
func (v *view) set(n int32, st occupancy.SpaceState, readMS int64) {
	letter := statusLetter(string(st.Status))
	if !v.keepStates {
		v.setStatus(n, letter)
		return
	}
	if readMS < v.readMS[n] {
		return
	}
	v.setStatus(n, letter)
	v.states[n], v.readMS[n] = nil, readMS
	if letter == 'f' {
		v.states[n] = keep(st)
	}
}

// statusLetter is the letter of a status word (free, occupied, unknown,
// closed: their first letters), u for anything else.
func statusLetter(st string) byte {
	if st == "" {
		return 'u'
	}
	switch st[0] {
	case 'f', 'o', 'c':
		return st[0]
	}
	return 'u'
}

// setStatus sets space n's status and keeps the counts; v.mu must be held.
func (v *view) setStatus(n int32, st byte) {
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

// apply applies events, each zone's in the order of its changes, skipping
// those at or before the zone's snapshot position (the snapshot holds
// them; the events of one entry share its position, so they are skipped or
// applied together). It
// returns, per zone, the numbers of the spaces free after them (each once),
// and false if an event named a space or zone the view does not have. A
// space whose status an event changes loses its state until it is read
// again (setStates).
func (v *view) apply(evs []occupancy.Event) (freed map[int][]int32, known bool) {
	known = true
	freed = map[int][]int32{}
	seen := map[int32]bool{}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range evs {
		zi, ok := v.zoneIdx[e.ZoneID]
		pos, _, _ := strings.Cut(e.ID, "@")
		if !ok {
			known = false
			continue
		}
		if occupancy.ComparePositions(pos, v.pos[zi]) <= 0 {
			continue
		}
		switch e.Type {
		case occupancy.EventSpace:
			n, ok := v.find(zi, e.SpaceID)
			if !ok {
				known = false
				continue
			}
			v.hear(zi, "", e.Time)
			if st := statusLetter(e.Status); st != v.status[n] {
				v.setStatus(n, st)
				if v.keepStates {
					v.states[n] = nil
				}
			}
			if !seen[n] {
				seen[n] = true
				freed[zi] = append(freed[zi], n)
			}
		case occupancy.EventZone:
			if e.Zone != nil {
				v.hear(zi, occupancy.Level(e.Zone.Level), e.Time)
			}
		}
	}
	for zi, nums := range freed {
		kept := nums[:0]
		for _, n := range nums {
			if v.status[n] == 'f' {
				kept = append(kept, n)
			}
		}
		freed[zi] = kept
	}
	return freed, known
}

// hear takes a change of zone zi at t and, if level is not empty, the
// zone's level after it; v.mu must be held. The events come in the order
// of the zone's changes, so the last level heard is the zone's; the time
// of change is the newest heard.
func (v *view) hear(zi int, level occupancy.Level, t time.Time) {
	z := &v.zc[zi]
	z.updatedMS = max(z.updatedMS, t.UnixMilli())
	if level != "" {
		z.level = level
	}
}

// move counts a space of the zone moving from status old to st (letters).
func (z *zoneCounts) move(old, st byte) {
	*z.count(old)--
	*z.count(st)++
}

// count is the count of status st (a letter; anything else is unknown).
func (z *zoneCounts) count(st byte) *int {
	switch st {
	case 'f':
		return &z.counts.Free
	case 'o':
		return &z.counts.Occupied
	case 'c':
		return &z.counts.Closed
	}
	return &z.counts.Unknown
}

// zoneState returns zone zi's counters as the view holds them; v.mu must
// be held.
func (v *view) zoneState(zi int) occupancy.ZoneState {
	z := v.zc[zi]
	st := occupancy.ZoneState{ZoneID: v.zones[zi].id, Counts: z.counts, Level: z.level}
	if z.updatedMS != 0 {
		st.UpdatedAt = time.UnixMilli(z.updatedMS).UTC()
	}
	return st
}

// freeIn returns how many spaces of kind (any: "") zone zi holds free.
func (v *view) freeIn(zi int, kind occupancy.Kind) int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	counts := v.free[zi*len(occupancy.Kinds) : (zi+1)*len(occupancy.Kinds)]
	if kind != "" {
		return int(counts[slices.Index(occupancy.Kinds, kind)])
	}
	n := 0
	for _, c := range counts {
		n += int(c)
	}
	return n
}

// candidate is a free space found in the view.
type candidate struct {
	n    int32
	dist float64 // metres, as Redis' GEORADIUS reports it (4 decimals)
}

// nearest returns up to k free spaces of the view within q's circle,
// nearest first (ties by ID), with the distances GEORADIUS would give.
func (v *view) nearest(q occupancy.NearbyQuery, k int) []candidate {
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
func (v *view) keepNearest(out []candidate, c candidate, k int) []candidate {
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

// freeStates returns the states the view holds of the candidates (nil for
// one no longer free) and when each was read.
func (v *view) freeStates(cands []candidate) ([]*kept, []int64) {
	states, at := make([]*kept, len(cands)), make([]int64, len(cands))
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i, c := range cands {
		states[i], at[i] = v.states[c.n], v.readMS[c.n]
	}
	return states, at
}

// matches reports whether sp is still the space numbered n: same zone,
// kind and position (a reload may have changed it).
func (v *view) matches(n int32, sp occupancy.Space) bool {
	return sp.ID == v.ids[n] && sp.ZoneID == v.zones[v.zone[n]].id &&
		int(v.kind[n]) == slices.Index(occupancy.Kinds, sp.Kind) && geoEncode(sp.Lat, sp.Lon) == v.geo[n]
}

// spaces returns the spaces numbered nums, with their ids and zones.
func (v *view) spaces(nums []int32) ([]int32, []occupancy.Space) {
	out := make([]occupancy.Space, len(nums))
	for i, n := range nums {
		// What a read of states needs: the id and the zone (the view's
		// registry has every space it numbers).
		out[i] = occupancy.Space{ID: v.ids[n], ZoneID: v.zones[v.zone[n]].id}
	}
	return nums, out
}
