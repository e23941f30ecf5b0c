package occupancy

import (
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
)

// registryData is one immutable version of a Registry, in a compact form:
// a space is a 40-byte record without pointers, its ids are slices of one
// shared string, its zone, kind and model are small indexes, and the id and
// sensor lookups are open-addressing tables of record numbers. A million
// spaces take about 85 MB of heap instead of the 300 MB of a []Space with
// maps, and the garbage collector has next to nothing to scan. Space values are built
// on demand; their strings point into text, so building one allocates
// nothing.
type registryData struct {
	zones     []Zone         // file order
	zoneIdx   map[string]int // zone ID -> index into zones
	zoneStart []int32        // zone i's spaces are members[zoneStart[i]:zoneStart[i+1]]
	members   []int32        // indexes into recs, grouped by zone, by space ID within a zone
	radius    []float64      // by zone index: metres from its centre to its farthest space
	recs      []spaceRec     // sorted by space ID (file order while building)
	text      string         // every space and sensor id, back to back
	kinds     []Kind         // spaceRec.kind indexes it
	models    []Model        // spaceRec.model indexes it
	byID      strIndex       // space ID -> record
	bySensor  strIndex       // sensor ID -> record

	versionOnce sync.Once // Version computes version once
	version     string
}

// spaceRec is one space. Its field order keeps it at 40 bytes.
type spaceRec struct {
	lat, lon   float64
	id, sensor uint32 // offsets into registryData.text
	zone       uint32 // index into zones
	maxStay    int32
	idLen      uint8
	sensorLen  uint8
	kind       uint8
	model      uint8
	phase      uint8
}

// spaceID and sensorID return record i's ids, without allocating.
func (d *registryData) spaceID(i int32) string {
	r := &d.recs[i]
	return d.text[r.id : r.id+uint32(r.idLen)]
}

func (d *registryData) sensorID(i int32) string {
	r := &d.recs[i]
	return d.text[r.sensor : r.sensor+uint32(r.sensorLen)]
}

// space builds the Space of record i.
func (d *registryData) space(i int32) Space {
	r := &d.recs[i]
	return Space{ID: d.spaceID(i), ZoneID: d.zones[r.zone].ID, SensorID: d.sensorID(i),
		Lat: r.lat, Lon: r.lon, Kind: d.kinds[r.kind], MaxStayMin: int(r.maxStay),
		Phase: int(r.phase), Model: d.models[r.model]}
}

// spacesOf builds the Spaces of records idx.
func (d *registryData) spacesOf(idx []int32) []Space {
	out := make([]Space, len(idx))
	for i, j := range idx {
		out[i] = d.space(j)
	}
	return out
}

// search returns the first record whose space ID is > after.
func (d *registryData) search(after string) int {
	lo, hi := 0, len(d.recs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d.spaceID(int32(m)) > after {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// registryBuilder collects spaces one at a time, checking each against the
// ones before, and then indexes them. It keeps no Space values, so a
// registry streamed from a file never holds the whole town twice.
type registryBuilder struct {
	d     *registryData
	text  strings.Builder // d.text is its String, which copies nothing
	lines []int32         // spaces.csv line of each record, for error messages
}

// newRegistryBuilder starts a registry of zones: their ids must be unique.
func newRegistryBuilder(zones []Zone) (*registryBuilder, error) {
	d := &registryData{zones: zones, zoneIdx: make(map[string]int, len(zones)),
		kinds: slices.Clone(Kinds), models: append([]Model{""}, Models...)}
	for i, z := range zones {
		if _, dup := d.zoneIdx[z.ID]; dup {
			return nil, Errorf(EINVALID, "zones.yaml: zone id %s appears twice", z.ID)
		}
		d.zoneIdx[z.ID] = i
	}
	return &registryBuilder{d: d}, nil
}

// add adds the space on the given line of spaces.csv: it must be in a known
// zone, and its space and sensor ids must be new. After an error the
// builder must not be used.
func (b *registryBuilder) add(s Space, line int) error {
	s.normalize()
	d := b.d
	z, ok := d.zoneIdx[s.ZoneID]
	if !ok {
		return Errorf(EINVALID, "spaces.csv line %d: space %s is in unknown zone %s", line, s.ID, s.ZoneID)
	}
	rec, err := b.record(s, z)
	if err != nil {
		return Errorf(EINVALID, "spaces.csv line %d: space %s: %s", line, s.ID, ErrorMessage(err))
	}
	i := int32(len(d.recs))
	d.recs, b.lines = append(d.recs, rec), append(b.lines, int32(line))
	if j, dup := d.byID.add(s.ID, i, d.spaceID); dup {
		return Errorf(EINVALID, "spaces.csv line %d: space id %s already on line %d", line, s.ID, b.lines[j])
	}
	if j, dup := d.bySensor.add(s.SensorID, i, d.sensorID); dup {
		return Errorf(EINVALID, "spaces.csv line %d: sensor %s is already on space %s (line %d)",
			line, s.SensorID, d.spaceID(j), b.lines[j])
	}
	return nil
}

// record packs s, in zone z, appending its ids to the builder's text.
func (b *registryBuilder) record(s Space, z int) (spaceRec, error) {
	switch {
	case len(s.ID) > math.MaxUint8 || len(s.SensorID) > math.MaxUint8:
		return spaceRec{}, Errorf(EINVALID, "space or sensor id longer than %d bytes", math.MaxUint8)
	case s.Phase < 0 || s.Phase > math.MaxUint8:
		return spaceRec{}, Errorf(EINVALID, "phase %d is out of range 0-%d", s.Phase, math.MaxUint8)
	case s.MaxStayMin < math.MinInt32 || s.MaxStayMin > math.MaxInt32:
		return spaceRec{}, Errorf(EINVALID, "max_stay_min %d is out of range", s.MaxStayMin)
	case b.text.Len()+len(s.ID)+len(s.SensorID) > math.MaxUint32:
		return spaceRec{}, Errorf(EINVALID, "registry ids exceed 4 GB")
	}
	kind, ok1 := intern(&b.d.kinds, s.Kind)
	model, ok2 := intern(&b.d.models, s.Model)
	if !ok1 || !ok2 {
		return spaceRec{}, Errorf(EINVALID, "more than 256 different kinds or models")
	}
	r := spaceRec{lat: s.Lat, lon: s.Lon, zone: uint32(z), maxStay: int32(s.MaxStayMin),
		idLen: uint8(len(s.ID)), sensorLen: uint8(len(s.SensorID)), kind: kind, model: model, phase: uint8(s.Phase)}
	r.id = uint32(b.text.Len())
	b.text.WriteString(s.ID)
	r.sensor = uint32(b.text.Len())
	b.text.WriteString(s.SensorID)
	b.d.text = b.text.String()
	return r, nil
}

// intern returns v's index in *tab, adding it if new; false once the table
// has 256 entries.
func intern[T ~string](tab *[]T, v T) (uint8, bool) {
	if i := slices.Index(*tab, v); i >= 0 {
		return uint8(i), true
	}
	if len(*tab) > math.MaxUint8 {
		return 0, false
	}
	*tab = append(*tab, v)
	return uint8(len(*tab) - 1), true
}

// finish sorts the spaces by ID and builds the lookup tables.
func (b *registryBuilder) finish() *Registry {
	d := b.d
	d.text, b.lines = strings.Clone(d.text), nil // the builder's may be twice as big
	b.text.Reset()
	if cap(d.recs) > len(d.recs)+len(d.recs)/8 { // appending left up to half of it unused
		d.recs = slices.Clone(d.recs)
	}
	slices.SortFunc(d.recs, func(x, y spaceRec) int {
		return strings.Compare(d.text[x.id:x.id+uint32(x.idLen)], d.text[y.id:y.id+uint32(y.idLen)])
	})
	d.byID, d.bySensor = newStrIndex(len(d.recs)), newStrIndex(len(d.recs))
	for i := range d.recs {
		d.byID.put(d.spaceID(int32(i)), int32(i))
		d.bySensor.put(d.sensorID(int32(i)), int32(i))
	}
	d.groupByZone()
	reg := &Registry{}
	reg.d.Store(d)
	return reg
}

// groupByZone fills zoneStart, members and radius from recs.
func (d *registryData) groupByZone() {
	d.zoneStart = make([]int32, len(d.zones)+1)
	for _, r := range d.recs {
		d.zoneStart[r.zone+1]++
	}
	for z := range d.zones {
		d.zoneStart[z+1] += d.zoneStart[z]
	}
	next := slices.Clone(d.zoneStart[:len(d.zones)])
	d.members = make([]int32, len(d.recs))
	d.radius = make([]float64, len(d.zones))
	for i, r := range d.recs {
		d.members[next[r.zone]] = int32(i)
		next[r.zone]++
		z := &d.zones[r.zone]
		d.radius[r.zone] = max(d.radius[r.zone], Distance(z.Lat, z.Lon, r.lat, r.lon))
	}
}

// zoneMembers returns the records of zone id, nil for an unknown zone.
func (d *registryData) zoneMembers(id string) []int32 {
	z, ok := d.zoneIdx[id]
	if !ok {
		return nil
	}
	return d.members[d.zoneStart[z]:d.zoneStart[z+1]]
}

// strIndex maps strings held by records to record numbers: open addressing
// with linear probing over a power-of-two table of record+1 (0 is empty),
// at most half full. The strings live in the records, so a table costs 8 to
// 16 bytes per entry, against about 50 for a map[string]int.
type strIndex struct {
	seed  maphash.Seed
	slots []uint32
	n     int
}

// newStrIndex returns a table sized for n entries.
func newStrIndex(n int) strIndex {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return strIndex{seed: maphash.MakeSeed(), slots: make([]uint32, size)}
}

// find returns the record holding s; key gives a record's string.
func (x *strIndex) find(s string, key func(int32) string) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for h := maphash.String(x.seed, s) & mask; ; h = (h + 1) & mask {
		v := x.slots[h]
		if v == 0 {
			return 0, false
		}
		if key(int32(v-1)) == s {
			return int32(v - 1), true
		}
	}
}

// add adds record i under s, growing the table as needed, unless s is
// there already: then it returns the record that holds it and true.
func (x *strIndex) add(s string, i int32, key func(int32) string) (int32, bool) {
	if j, ok := x.find(s, key); ok {
		return j, true
	}
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		*x = newStrIndex(max(8, len(old)))
		for _, v := range old {
			if v != 0 {
				x.put(key(int32(v-1)), int32(v-1))
			}
		}
	}
	x.put(s, i)
	return 0, false
}

// put stores record i under s, which must not be there yet; the table must
// have room.
func (x *strIndex) put(s string, i int32) {
	mask := uint64(len(x.slots) - 1)
	h := maphash.String(x.seed, s) & mask
	for x.slots[h] != 0 {
		h = (h + 1) & mask
	}
	x.slots[h] = uint32(i + 1)
	x.n++
}
