package town

import (
	"math"

	"github.com/qiuai/parking/occupancy"
)

// kindRule picks the kind of bay b, the i-th of the n bays of its zone.
type kindRule func(b bay, i, n int) occupancy.Kind

// streetKinds marks kerbside bays the way a town does: the bay by the
// junction at the start of every accessibleEvery-th block is accessible, the
// last loadingBays bays of every loadingEvery-th block (where a van can pull
// in at the next corner) are for loading, and the middle bay of every
// evEvery-th block has a charging post. A zero period turns a kind off.
type streetKinds struct {
	accessibleEvery int
	loadingEvery    int
	loadingBays     int
	evEvery         int
}

// rule returns the kindRule of s.
func (s streetKinds) rule() kindRule {
	return func(b bay, _, _ int) occupancy.Kind {
		switch {
		case every(b.block, s.accessibleEvery) && b.pos == 0:
			return occupancy.KindAccessible
		case every(b.block, s.loadingEvery) && b.pos >= b.n-s.loadingBays:
			return occupancy.KindLoading
		case every(b.block, s.evEvery) && b.pos == b.n/2:
			return occupancy.KindEV
		}
		return occupancy.KindStandard
	}
}

// every reports whether block is one of every k-th blocks (k > 0).
func every(block, k int) bool { return k > 0 && block%k == 0 }

// lotKinds marks car-park bays: the first share of bays, in the first row
// by the entrance, is accessible, and the last share, along the far side
// where the charger cabinet is, has EV chargers. Shares are fractions of
// the zone's bays, rounded up.
type lotKinds struct {
	accessible float64
	ev         float64
}

// rule returns the kindRule of l.
func (l lotKinds) rule() kindRule {
	return func(_ bay, i, n int) occupancy.Kind {
		switch {
		case i < share(n, l.accessible):
			return occupancy.KindAccessible
		case i >= n-share(n, l.ev):
			return occupancy.KindEV
		}
		return occupancy.KindStandard
	}
}

// share is the fraction f of n, rounded up.
func share(n int, f float64) int { return int(math.Ceil(float64(n) * f)) }
