// Package town generates believable town registries: the zones, spaces and
// sensors that the service serves and the simulator drives. Qiuai returns the
// real, hand-designed Qiuai town; Generate scales out to a synthetic city of
// any size for load tests; WriteRegistry writes either as the zones.yaml and
// spaces.csv of the outside contract. Everything is deterministic: the same
// options give byte-identical files.
package town

//go:generate go run ../../cmd/parksim registry -out ../../configs/qiuai

import (
	"fmt"

	"github.com/qiuai/parking/occupancy"
)

// Centre of Qiuai town (Yinzhou district, Ningbo): every zone is laid out in
// metres east and north of this point.
const (
	CentreLat = 29.85
	CentreLon = 121.64
)

// Options chooses the town Generate builds.
type Options struct {
	// Spaces is the number of spaces. Default 0: the Qiuai town as designed
	// (see Qiuai). A value up to Qiuai's size keeps Qiuai's first Spaces
	// spaces in registry order, with the zones they belong to; a larger
	// value builds a synthetic city of exactly Spaces spaces.
	Spaces int
	// Seed varies the synthetic city's zone sizes, kinds and layouts.
	// Default 0 means 1. Qiuai itself does not depend on it.
	Seed int64
}

// withDefaults returns o with its zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Generate builds the town the options describe. The spaces are in registry
// order: zone by zone, and within a zone by space id, with sensor ids
// S-000001, S-000002, ... in the same order.
func Generate(opts Options) ([]occupancy.Zone, []occupancy.Space, error) {
	opts = opts.withDefaults()
	if opts.Spaces < 0 {
		return nil, nil, fmt.Errorf("town: spaces %d is negative", opts.Spaces)
	}
	zones, spaces := Qiuai()
	switch {
	case opts.Spaces == 0 || opts.Spaces == len(spaces):
		return zones, spaces, nil
	case opts.Spaces < len(spaces):
		zones, spaces = truncate(zones, spaces[:opts.Spaces])
		return zones, spaces, nil
	}
	zones, spaces = city(opts.Spaces, opts.Seed)
	return zones, spaces, nil
}

// truncate keeps the zones that still have spaces, in order.
func truncate(zones []occupancy.Zone, spaces []occupancy.Space) ([]occupancy.Zone, []occupancy.Space) {
	used := make(map[string]bool, len(zones))
	for _, s := range spaces {
		used[s.ZoneID] = true
	}
	var kept []occupancy.Zone
	for _, z := range zones {
		if used[z.ID] {
			kept = append(kept, z)
		}
	}
	return kept, spaces
}

// zoneSpec is a zone as a planner draws it: what it is and where its bays go.
type zoneSpec struct {
	id, name string
	typ      occupancy.ZoneType
	profile  occupancy.Profile
	phase    int      // rollout phase of parts that do not set their own
	at       pt       // origin of the parts, metres east and north of the centre
	parts    []part   // where the bays go
	kinds    kindRule // which bays are accessible, EV or loading
	evStay   int      // max stay of EV bays, minutes; 0 means the part's maxStay
}

// part is a run of bays with one time limit and one rollout phase.
type part struct {
	shape   shape
	maxStay int // minutes, for standard and accessible bays; 0: no limit
	phase   int // 0: the zone's phase
}

// shape lays out bays in metres from its zone's origin; block numbers start
// at first so that they stay distinct across the parts of a zone.
type shape interface {
	bays(first int) []bay
}

// loadingStay is the time limit of a loading bay: long enough to unload a van.
const loadingStay = 30

// laidBay is a bay together with the part it belongs to.
type laidBay struct {
	bay
	part *part
}

// build lays out a zone and numbers its spaces; nextSensor is the number of
// the first sensor to use and is advanced past the last one used.
func build(spec zoneSpec, prefix string, nextSensor *int) (occupancy.Zone, []occupancy.Space) {
	laid := lay(spec)
	centre := centroid(laid)
	z := occupancy.Zone{ID: spec.id, Name: spec.name, Type: spec.typ, Profile: spec.profile}
	z.Lat, z.Lon = newFrame(CentreLat, CentreLon).at(centre)
	f := newFrame(z.Lat, z.Lon)
	spaces := make([]occupancy.Space, len(laid))
	for i, b := range laid {
		s := &spaces[i]
		s.ID = fmt.Sprintf("%s-%s-%04d", prefix, spec.id, i+1)
		s.ZoneID, s.SensorID = spec.id, fmt.Sprintf("S-%06d", *nextSensor)
		s.Lat, s.Lon = f.at(pt{b.p.X - centre.X, b.p.Y - centre.Y})
		s.Kind = spec.kinds(b.bay, i, len(laid))
		s.MaxStayMin, s.Phase = spec.stay(s.Kind, b.part), spec.phase
		if b.part.phase != 0 {
			s.Phase = b.part.phase
		}
		*nextSensor++
	}
	return z, spaces
}

// lay lays out every part of a zone, in town metres.
func lay(spec zoneSpec) []laidBay {
	var out []laidBay
	block := 0
	for i := range spec.parts {
		p := &spec.parts[i]
		for _, b := range p.shape.bays(block) {
			b.p = b.p.add(spec.at)
			out = append(out, laidBay{bay: b, part: p})
			block = max(block, b.block+1)
		}
	}
	return out
}

// centroid is the mean position of the bays.
func centroid(laid []laidBay) pt {
	var c pt
	for _, b := range laid {
		c = c.add(b.p)
	}
	n := float64(len(laid))
	return pt{c.X / n, c.Y / n}
}

// stay is the time limit of a bay of the given kind in part p.
func (spec zoneSpec) stay(k occupancy.Kind, p *part) int {
	switch {
	case k == occupancy.KindLoading && (p.maxStay == 0 || p.maxStay > loadingStay):
		return loadingStay
	case k == occupancy.KindEV && spec.evStay > 0:
		return spec.evStay
	}
	return p.maxStay
}
