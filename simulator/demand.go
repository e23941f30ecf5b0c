package simulator

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// chinaStandardTime is Qiuai's time zone. China keeps no daylight saving time,
// so a fixed offset is exact and needs no tz database.
var chinaStandardTime = time.FixedZone("CST", 8*3600)

// curve is a 24-hour target occupancy: the value at each full hour, for
// working days and for weekends; values in between are interpolated.
type curve struct {
	weekday, weekend [24]float64
}

// The demand curves of the three profiles, as fractions of spaces occupied.
var (
	commuterCurve = curve{
		weekday: [24]float64{.10, .08, .07, .07, .07, .09, .18, .45, .80, .90, .92, .90,
			.85, .88, .90, .88, .82, .70, .45, .30, .25, .20, .15, .12},
		weekend: [24]float64{.10, .08, .07, .07, .07, .08, .10, .15, .22, .32, .40, .45,
			.45, .45, .44, .42, .40, .35, .30, .26, .22, .18, .14, .11},
	}
	residentialCurve = curve{
		weekday: [24]float64{.92, .93, .93, .93, .92, .90, .85, .70, .55, .50, .48, .47,
			.48, .48, .49, .50, .55, .65, .78, .85, .90, .92, .93, .93},
		weekend: [24]float64{.92, .93, .93, .93, .93, .92, .90, .85, .76, .68, .64, .62,
			.62, .63, .64, .66, .70, .75, .82, .87, .90, .92, .93, .93},
	}
	marketCurve = curve{
		weekday: [24]float64{.05, .05, .05, .05, .08, .30, .80, .95, .95, .92, .85, .55,
			.35, .30, .30, .40, .65, .72, .68, .45, .20, .10, .06, .05},
		weekend: [24]float64{.05, .05, .05, .05, .08, .30, .82, .96, .96, .94, .88, .60,
			.40, .35, .35, .45, .68, .75, .70, .48, .22, .10, .06, .05},
	}
)

// curveFor returns the demand curve of a profile; the empty profile is
// commuter.
func curveFor(p occupancy.Profile) *curve {
	switch p {
	case occupancy.ProfileResidential:
		return &residentialCurve
	case occupancy.ProfileMarket:
		return &marketCurve
	}
	return &commuterCurve
}

// at returns the target occupancy at t, read in t's own location.
func (c *curve) at(t time.Time) float64 {
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	h := t.Sub(day).Hours()
	i := int(h)
	if i > 23 { // a 25-hour day at a daylight-saving change
		i, h = 23, 23.999
	}
	a := c.hour(day, i)
	var b float64
	if i < 23 {
		b = c.hour(day, i+1)
	} else {
		b = c.hour(day.AddDate(0, 0, 1), 0)
	}
	f := h - float64(i)
	return a + (b-a)*f
}

// hour is the curve's value at the given full hour of day.
func (c *curve) hour(day time.Time, h int) float64 {
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return c.weekend[h]
	}
	return c.weekday[h]
}

// dwell is a log-normal parking duration, clipped to [min, max].
type dwell struct {
	median   time.Duration
	sigma    float64
	min, max time.Duration
}

// mean is the mean of the unclipped log-normal distribution.
func (d dwell) mean() time.Duration {
	return time.Duration(float64(d.median) * math.Exp(d.sigma*d.sigma/2))
}

// draw returns one duration drawn from d.
func (d dwell) draw(rng *rand.Rand) time.Duration {
	v := time.Duration(float64(d.median) * math.Exp(d.sigma*rng.NormFloat64()))
	return min(max(v, d.min), d.max)
}

// Dwell classes. Hours are the local hour of arrival.
var (
	dwellOnStreet    = dwell{45 * time.Minute, 0.8, 5 * time.Minute, 8 * time.Hour}
	dwellLotWorkday  = dwell{8*time.Hour + 30*time.Minute, 0.25, 2 * time.Hour, 12 * time.Hour}
	dwellLotVisit    = dwell{2 * time.Hour, 0.8, 10 * time.Minute, 10 * time.Hour}
	dwellOvernight   = dwell{10 * time.Hour, 0.35, time.Hour, 16 * time.Hour}
	dwellResidentDay = dwell{90 * time.Minute, 0.9, 5 * time.Minute, 10 * time.Hour}
	dwellMarket      = dwell{20 * time.Minute, 0.7, 3 * time.Minute, 3 * time.Hour}
	dwellLoading     = dwell{15 * time.Minute, 0.6, 3 * time.Minute, 90 * time.Minute}
	dwellShortStop   = dwell{2 * time.Minute, 0.4, 30 * time.Second, 5 * time.Minute}
)

// shortStopShare is the share of arrivals that are brief stops (a drop-off,
// a delivery) whatever the profile: a little realistic noise.
const shortStopShare = 0.05

// dwellFor returns the dwell class of an arrival at the given local hour.
func dwellFor(p occupancy.Profile, zt occupancy.ZoneType, k occupancy.Kind, hour int) dwell {
	switch {
	case k == occupancy.KindLoading:
		return dwellLoading
	case p == occupancy.ProfileMarket:
		return dwellMarket
	case p == occupancy.ProfileResidential && (hour >= 16 || hour < 5):
		return dwellOvernight
	case p == occupancy.ProfileResidential:
		return dwellResidentDay
	case zt == occupancy.OffStreet && hour >= 6 && hour < 10:
		return dwellLotWorkday
	case zt == occupancy.OffStreet:
		return dwellLotVisit
	}
	return dwellOnStreet
}

// kindFactor scales a zone's target occupancy for reserved spaces, which
// fewer drivers may use.
func kindFactor(k occupancy.Kind) float64 {
	switch k {
	case occupancy.KindAccessible:
		return 0.55
	case occupancy.KindEV:
		return 0.75
	case occupancy.KindLoading:
		return 0.65
	}
	return 1
}

// Bounds of any target occupancy, so that arrival hazards stay finite and
// no zone is ever completely full or empty.
const (
	minTarget = 0.01
	maxTarget = 0.97
)

// trackTime is how fast the arrival hazard pulls a zone's occupancy back
// to its target, in virtual time.
const trackTime = 45 * time.Minute

// zoneState is what the arrival hazard of a zone's spaces depends on: how
// many of its simulated sensors there are and how many are occupied. Only
// the goroutine that runs the model touches it.
type zoneState struct {
	kinds    [4]*demand // by position in occupancy.Kinds
	sensors  [4]int     // started sensors of each kind
	occupied int        // started sensors whose space is occupied
}

// ratio is the zone's occupied share over its target share at vt: above 1
// when the zone is fuller than the curve says. It is 1 when the zone has
// no started sensor yet.
func (z *zoneState) ratio(vt time.Time) float64 {
	var n, want float64
	for i, d := range z.kinds {
		if z.sensors[i] == 0 {
			continue
		}
		n += float64(z.sensors[i])
		want += float64(z.sensors[i]) * d.target(vt)
	}
	if n == 0 || want == 0 {
		return 1
	}
	return float64(z.occupied) / want
}

// demand is the demand of one class of spaces: one zone and one kind.
type demand struct {
	curve   *curve
	profile occupancy.Profile
	zt      occupancy.ZoneType
	kind    occupancy.Kind
	factor  float64 // zone popularity times kind factor
	loc     *time.Location
	zone    *zoneState
	maxRate float64 // upper bound of hazard, per virtual second
}

// newDemand returns the demand of spaces of kind k in zone z, whose
// popularity factor is zf.
func newDemand(z occupancy.Zone, k occupancy.Kind, zf float64, loc *time.Location, zs *zoneState) *demand {
	d := &demand{curve: curveFor(z.Profile), profile: z.Profile, zt: z.Type, kind: k,
		factor: zf * kindFactor(k), loc: loc, zone: zs}
	d.maxRate = 2*d.steadyBound() + 4/trackTime.Seconds()
	return d
}

// target is the share of these spaces that should be occupied at vt.
func (d *demand) target(vt time.Time) float64 {
	return min(max(d.curve.at(vt.In(d.loc))*d.factor, minTarget), maxTarget)
}

// dwellAt is the dwell class of an arrival at vt.
func (d *demand) dwellAt(vt time.Time) dwell {
	return dwellFor(d.profile, d.zt, d.kind, vt.In(d.loc).Hour())
}

// meanDwell is the mean stay, in virtual seconds, of an arrival at vt.
func (d *demand) meanDwell(vt time.Time) float64 {
	return (1-shortStopShare)*d.dwellAt(vt).mean().Seconds() + shortStopShare*dwellShortStop.mean().Seconds()
}

// steady is the hazard that holds occupancy p in a steady state: a space
// alternating between free periods of rate λ and stays of mean D is
// occupied a share λD/(1+λD) of the time, so λ = p / ((1-p) D).
func (d *demand) steady(vt time.Time) float64 {
	p := d.target(vt)
	return p / ((1 - p) * d.meanDwell(vt))
}

// hazard is the arrival rate, per virtual second, on one free space at vt.
// Occupancy p moves as dp/dt = λ(1-p) - p/D; asking it to follow the
// target p* as dp/dt = dp*/dt + (p*-p)/trackTime gives
// λ = (dp*/dt + (p*-p)/trackTime + p/D) / (1-p), where p is the zone's
// actual occupancy scaled to this kind. It is clipped to [0, maxRate].
func (d *demand) hazard(vt time.Time) float64 {
	const h = 5 * time.Minute
	want := d.target(vt)
	slope := (d.target(vt.Add(h)) - d.target(vt.Add(-h))) / (2 * h).Seconds()
	p := min(want*d.zone.ratio(vt), 0.99)
	l := (slope + (want-p)/trackTime.Seconds() + p/d.meanDwell(vt)) / (1 - p)
	return min(max(l, 0), d.maxRate)
}

// steadyBound returns the largest steady hazard over a whole week. Within
// an hour the dwell class is fixed and the target moves linearly, so the
// hazard, which grows with the target, peaks at the start or the end of
// some hour.
func (d *demand) steadyBound() float64 {
	monday := time.Date(2024, 1, 1, 0, 0, 0, 0, d.loc) // a Monday
	var best float64
	for h := range 7 * 24 {
		t := monday.Add(time.Duration(h) * time.Hour)
		best = max(best, d.steady(t), d.steady(t.Add(time.Hour-time.Nanosecond)))
	}
	return best
}

// drawDwell draws the parking duration of an arrival at vt.
func (d *demand) drawDwell(vt time.Time, rng *rand.Rand) time.Duration {
	if rng.Float64() < shortStopShare {
		return dwellShortStop.draw(rng)
	}
	return d.dwellAt(vt).draw(rng)
}
