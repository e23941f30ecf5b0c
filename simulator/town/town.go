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
	"strconv"
	"strings"

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

// shape lays out bays in metres from its zone's origin, appending them to
// dst; block numbers start at first so that they stay distinct across the
// parts of a zone.
type shape interface {
	bays(dst []bay, first int) []bay
}

// loadingStay is the time limit of a loading bay: long enough to unload a van.
const loadingStay = 30

// builder lays out zones one after another into one registry.
type builder struct {
	prefix string // of space ids: "QA" gives QA-Z01-0001
	sensor int    // number of the next sensor; 0 means 1
	bays   []bay  // scratch, reused zone after zone
	zones  []occupancy.Zone
	spaces []occupancy.Space
}

// add lays out a zone, numbers its spaces and sensors, and appends them.
func (bd *builder) add(spec zoneSpec) {
	bd.bays = spec.lay(bd.bays[:0])
	centre := centroid(bd.bays)
	z := occupancy.Zone{ID: spec.id, Name: spec.name, Type: spec.typ, Profile: spec.profile}
	z.Lat, z.Lon = newFrame(CentreLat, CentreLon).at(centre)
	bd.zones = append(bd.zones, z)
	f, idPrefix := newFrame(z.Lat, z.Lon), bd.prefix+"-"+spec.id+"-"
	bd.sensor = max(bd.sensor, 1)
	for i, b := range bd.bays {
		s := occupancy.Space{ID: numbered(idPrefix, i+1, 4), ZoneID: spec.id, SensorID: numbered("S-", bd.sensor, 6)}
		s.Lat, s.Lon = f.at(pt{b.p.X - centre.X, b.p.Y - centre.Y})
		s.Kind = spec.kinds(b, i, len(bd.bays))
		p := &spec.parts[b.part]
		s.MaxStayMin, s.Phase = spec.stay(s.Kind, p), spec.phase
		if p.phase != 0 {
			s.Phase = p.phase
		}
		bd.spaces = append(bd.spaces, s)
		bd.sensor++
	}
}

// numbered returns prefix followed by n padded with zeros to width digits,
// like fmt.Sprintf("%s%0*d", prefix, width, n) at a fraction of the cost.
func numbered(prefix string, n, width int) string {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(n), 10)
	var b strings.Builder
	b.Grow(len(prefix) + max(width, len(d)))
	b.WriteString(prefix)
	for range width - len(d) {
		b.WriteByte('0')
	}
	b.Write(d)
	return b.String()
}

// lay appends the bays of every part of the zone to dst, in town metres.
func (spec zoneSpec) lay(dst []bay) []bay {
	block := 0
	for i := range spec.parts {
		from := len(dst)
		dst = spec.parts[i].shape.bays(dst, block)
		for j := from; j < len(dst); j++ {
			dst[j].p, dst[j].part = dst[j].p.add(spec.at), i
			block = max(block, dst[j].block+1)
		}
	}
	return dst
}

// centroid is the mean position of the bays.
func centroid(bays []bay) pt {
	var c pt
	for _, b := range bays {
		c = c.add(b.p)
	}
	n := float64(len(bays))
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
