package occupancy

import "fmt"

// Level is a zone's availability as a sign shows it, in DATEX II's
// vocabulary (ParkingSiteStatus / occupancy trend).
type Level string

// The levels.
const (
	LevelSpacesAvailable Level = "spacesAvailable"
	LevelAlmostFull      Level = "almostFull"
	LevelFull            Level = "full"
	LevelClosed          Level = "closed"  // every space of the zone is closed
	LevelUnknown         Level = "unknown" // no spaces, or most open spaces unknown
)

// LevelThresholds are the occupancy percentages (occupied of the spaces
// whose sensor is heard: free + occupied) at which a zone's level rises
// (On) and falls back (Off). Off below On is the hysteresis that keeps a
// sign from flickering at the boundary.
type LevelThresholds struct {
	// AlmostFullOn: at or above it the level rises to almostFull.
	AlmostFullOn int `yaml:"almost_full_on" json:"almost_full_on"`
	// AlmostFullOff: a zone almostFull or full stays at least almostFull
	// while at or above it.
	AlmostFullOff int `yaml:"almost_full_off" json:"almost_full_off"`
	// FullOn: at or above it the level rises to full (100: no free space).
	FullOn int `yaml:"full_on" json:"full_on"`
	// FullOff: a full zone stays full while at or above it.
	FullOff int `yaml:"full_off" json:"full_off"`
}

// DefaultLevelThresholds are the thresholds per zone type: on-street bays
// warn earlier (drivers circle), off-street lots count to the last space.
var DefaultLevelThresholds = map[ZoneType]LevelThresholds{
	OnStreet:  {AlmostFullOn: 85, AlmostFullOff: 80, FullOn: 100, FullOff: 95},
	OffStreet: {AlmostFullOn: 90, AlmostFullOff: 85, FullOn: 98, FullOff: 95},
}

// Validate checks 0 < AlmostFullOff <= AlmostFullOn <= FullOn <= 100 and
// AlmostFullOn <= FullOff <= FullOn. The error is EINVALID.
func (t LevelThresholds) Validate() error {
	ok := 0 < t.AlmostFullOff && t.AlmostFullOff <= t.AlmostFullOn && t.AlmostFullOn <= t.FullOn &&
		t.FullOn <= 100 && t.AlmostFullOn <= t.FullOff && t.FullOff <= t.FullOn
	if !ok {
		return Errorf(EINVALID, "level thresholds %+v: want 0 < almost_full_off <= almost_full_on <= full_off <= full_on <= 100", t)
	}
	return nil
}

// String packs t as the Lua scripts read it: "afOn,afOff,fullOn,fullOff".
func (t LevelThresholds) String() string {
	return fmt.Sprintf("%d,%d,%d,%d", t.AlmostFullOn, t.AlmostFullOff, t.FullOn, t.FullOff)
}

// NextLevel is the zone's level for counts c, given its previous level
// prev ("" if none) and thresholds t. It is the rule the store's scripts
// apply (luaCommon's relevel in redisstore), kept here to document and test
// it:
//
//   - no spaces, or fewer than half of the open spaces heard: unknown;
//   - every space closed: closed;
//   - else with p = occupied*100/(free+occupied): full if p >= FullOn, or
//     if prev was full and p >= FullOff; else almostFull if p >=
//     AlmostFullOn, or if prev was almostFull or full and p >=
//     AlmostFullOff; else spacesAvailable.
func NextLevel(prev Level, c Counts, t LevelThresholds) Level {
	switch open, known := c.Total-c.Closed, c.Free+c.Occupied; {
	case c.Total == 0:
		return LevelUnknown
	case open == 0:
		return LevelClosed
	case known == 0 || known*2 < open:
		return LevelUnknown
	}
	p := float64(c.Occupied) * 100 / float64(c.Free+c.Occupied)
	switch {
	case p >= float64(t.FullOn), prev == LevelFull && p >= float64(t.FullOff):
		return LevelFull
	case p >= float64(t.AlmostFullOn), (prev == LevelAlmostFull || prev == LevelFull) && p >= float64(t.AlmostFullOff):
		return LevelAlmostFull
	}
	return LevelSpacesAvailable
}
