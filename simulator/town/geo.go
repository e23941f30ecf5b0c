package town

import "math"

// Layout sizes, in metres. They are what a town engineer would draw: parallel
// on-street bays about a car and a half long, lot bays 2.5 m wide and 5 m deep
// with 6 m aisles between back-to-back pairs of rows.
const (
	mPerDegLat   = 111320.0 // metres per degree of latitude, everywhere
	streetPitch  = 6.0      // along-street distance between on-street bays
	streetSide   = 5.0      // street centre line to the middle of a kerbside bay
	junctionKeep = 8.0      // bay-free length at each end of a street block
	lotBayWidth  = 2.5      // distance between neighbouring bays in a lot row
	lotBayDepth  = 5.0      // distance between the two rows of a back-to-back pair
	lotAisle     = 6.0      // driving aisle between pairs of rows
)

// pt is a point in metres east (X) and north (Y) of some origin.
type pt struct{ X, Y float64 }

// add returns p moved by q.
func (p pt) add(q pt) pt { return pt{p.X + q.X, p.Y + q.Y} }

// rotate turns p by deg degrees anticlockwise about the origin. The explicit
// float64 conversions stop the compiler from fusing multiply-adds, so every
// architecture computes the same coordinates.
func (p pt) rotate(deg float64) pt {
	s, c := math.Sincos(deg * math.Pi / 180)
	return pt{float64(p.X*c) - float64(p.Y*s), float64(p.X*s) + float64(p.Y*c)}
}

// frame converts local metres around an origin into degrees, using the flat
// local approximation 1° lat ≈ 111 320 m and 1° lon ≈ 111 320·cos(lat) m,
// which is good to centimetres over a few kilometres.
type frame struct {
	lat, lon   float64
	mPerDegLon float64
}

// newFrame returns the frame whose origin is at lat, lon.
func newFrame(lat, lon float64) frame {
	return frame{lat: lat, lon: lon, mPerDegLon: mPerDegLat * math.Cos(lat*math.Pi/180)}
}

// at returns the latitude and longitude of p, rounded to 6 decimals (about
// 0.1 m), the precision spaces.csv is written with.
func (f frame) at(p pt) (lat, lon float64) {
	return round6(f.lat + float64(p.Y/mPerDegLat)), round6(f.lon + float64(p.X/f.mPerDegLon))
}

// round6 rounds x to 6 decimal places.
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// bay is one laid-out parking bay, in metres from its zone's origin, with
// where it sits in its block so kind rules can pick believable bays (the one
// next to a junction, the last of a row).
type bay struct {
	p     pt
	block int // street block (one side of one segment) or lot row, counted over the zone
	pos   int // index of the bay in its block
	n     int // bays in its block
	part  int // index of its part in the zone
}

// street lays kerbside bays along a polyline: on one or both sides of each
// segment, streetPitch apart, keeping junctionKeep clear at each vertex.
type street struct {
	path  []pt // centre line, metres from the zone origin
	sides int  // 1: left-hand kerb only (in the direction of path); 2: both kerbs
}

// bays lays the street's bays, segment by segment, side by side.
func (s street) bays(dst []bay, block int) []bay {
	for i := 1; i < len(s.path); i++ {
		for side := range s.sides {
			dst = kerb(dst, s.path[i-1], s.path[i], side, block)
			block++
		}
	}
	return dst
}

// kerb appends the bays of one side of one segment a→b, side 0 being on
// the left.
func kerb(dst []bay, a, b pt, side, block int) []bay {
	dx, dy := b.X-a.X, b.Y-a.Y
	length := math.Hypot(dx, dy)
	ux, uy := dx/length, dy/length
	off := streetSide
	if side == 1 {
		off = -off
	}
	n := int((length - 2*junctionKeep) / streetPitch)
	start := (length - float64(n-1)*streetPitch) / 2 // centre the bays on the block
	for k := range n {
		d := start + float64(k)*streetPitch
		p := pt{a.X + float64(ux*d) - float64(uy*off), a.Y + float64(uy*d) + float64(ux*off)}
		dst = append(dst, bay{p: p, block: block, pos: k, n: n})
	}
	return dst
}

// lot lays a grid of bays: rows in back-to-back pairs separated by aisles,
// centred on at and turned by angle degrees. With the default pitches it is
// a surface car park; under a viaduct the rows are broken by piers (pierGap
// metres after every pierEvery bays). With streetPitch along the rows, a
// pair depth of two kerbs and a city block as the aisle, it is a grid of
// parallel streets with kerbside bays on both sides.
type lot struct {
	at        pt      // centre of the grid, metres from the zone origin
	angle     float64 // direction of the rows, degrees anticlockwise from east
	cols      int     // bays in a full row
	rows      int     // rows of bays
	last      int     // bays in the last row; 0 means a full row
	pierEvery int     // 0: no piers
	pierGap   float64 // metres added at each pier
	pitch     float64 // along a row between bays; 0 means lotBayWidth
	depth     float64 // between the two rows of a pair; 0 means lotBayDepth
	aisle     float64 // between pairs of rows; 0 means lotAisle
}

// withDefaults returns l with zero pitches replaced by the lot sizes.
func (l lot) withDefaults() lot {
	if l.pitch == 0 {
		l.pitch = lotBayWidth
	}
	if l.depth == 0 {
		l.depth = lotBayDepth
	}
	if l.aisle == 0 {
		l.aisle = lotAisle
	}
	return l
}

// bays appends the lot's bays row by row.
func (l lot) bays(dst []bay, block int) []bay {
	l = l.withDefaults()
	w, h := l.rowLength(l.cols), l.rowY(l.rows-1)
	for r := range l.rows {
		n := l.cols
		if r == l.rows-1 && l.last > 0 {
			n = l.last
		}
		for c := range n {
			local := pt{l.colX(c) - w/2, l.rowY(r) - h/2}
			dst = append(dst, bay{p: local.rotate(l.angle).add(l.at), block: block + r, pos: c, n: n})
		}
	}
	return dst
}

// colX is the distance along a row from its first bay to bay c.
func (l lot) colX(c int) float64 {
	x := float64(c) * l.pitch
	if l.pierEvery > 0 {
		x += float64(c/l.pierEvery) * l.pierGap
	}
	return x
}

// rowLength is the distance from the first to the last of n bays in a row.
func (l lot) rowLength(n int) float64 { return l.colX(n - 1) }

// rowY is the distance across the lot from row 0 to row r.
func (l lot) rowY(r int) float64 {
	return float64(r/2)*(2*l.depth+l.aisle) + float64(r%2)*l.depth
}
