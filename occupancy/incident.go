package occupancy

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HealthProblem is something wrong with a sensor, as the health rules see it.
type HealthProblem string

// Sensor health problems.
const (
	HealthOffline    HealthProblem = "offline"     // heard before, silent longer than OfflineAfter
	HealthLowBattery HealthProblem = "low_battery" // last reported battery below LowBatteryMV
	HealthFlapping   HealthProblem = "flapping"    // FlapChanges or more state changes in the last hour
	HealthClockSkew  HealthProblem = "clock_skew"  // its newest reading was rejected for its sensor time
)

// HealthProblems lists every problem, in a stable order.
var HealthProblems = []HealthProblem{HealthOffline, HealthLowBattery, HealthFlapping, HealthClockSkew}

// Valid reports whether p is one of the problems.
func (p HealthProblem) Valid() bool {
	switch p {
	case HealthOffline, HealthLowBattery, HealthFlapping, HealthClockSkew:
		return true
	}
	return false
}

// HealthRules decide when a sensor has a problem.
type HealthRules struct {
	// OfflineAfter is the silence after which a sensor heard before is
	// offline. Default 30m (the sweeper's limit).
	OfflineAfter time.Duration
	// LowBatteryMV: a last reported battery below it is low. Default 3000.
	LowBatteryMV int
	// FlapChanges: this many state changes in the last hour or more is
	// flapping. Default 10.
	FlapChanges int
}

// WithDefaults returns r with its zero fields set to the defaults.
func (r HealthRules) WithDefaults() HealthRules {
	if r.OfflineAfter <= 0 {
		r.OfflineAfter = 30 * time.Minute
	}
	if r.LowBatteryMV <= 0 {
		r.LowBatteryMV = 3000
	}
	if r.FlapChanges <= 0 {
		r.FlapChanges = 10
	}
	return r
}

// SensorHealth is a space's sensor as staff watch it: its live state and how
// many times its status changed in the last hour.
type SensorHealth struct {
	State           SpaceState
	ChangesLastHour int
}

// Problems returns what is wrong with the sensor at now, in the order
// offline, low_battery, flapping, clock_skew; none when nothing is. A sensor never heard
// from is not offline (it may not be installed yet).
func (r HealthRules) Problems(h SensorHealth, now time.Time) []HealthProblem {
	var out []HealthProblem
	if r.offline(h.State, now) {
		out = append(out, HealthOffline)
	}
	if h.State.BatteryMV > 0 && h.State.BatteryMV < r.LowBatteryMV {
		out = append(out, HealthLowBattery)
	}
	if h.ChangesLastHour >= r.FlapChanges {
		out = append(out, HealthFlapping)
	}
	if h.State.Health.Clock != nil {
		out = append(out, HealthClockSkew)
	}
	return out
}

func (r HealthRules) offline(st SpaceState, now time.Time) bool {
	return !st.LastSeen.IsZero() && now.Sub(st.LastSeen) > r.OfflineAfter
}

// IncidentType is what an incident is about.
type IncidentType string

// Incident types. The last four are the sensor health problems.
const (
	IncidentOverstay   IncidentType = "overstay" // occupied longer than the space's max_stay_min
	IncidentOffline    IncidentType = "offline"
	IncidentLowBattery IncidentType = "low_battery"
	IncidentFlapping   IncidentType = "flapping"
	IncidentClockSkew  IncidentType = "clock_skew"
)

// IncidentTypes lists every incident type, in a stable order.
var IncidentTypes = []IncidentType{IncidentOverstay, IncidentOffline, IncidentLowBattery, IncidentFlapping,
	IncidentClockSkew}

// Valid reports whether t is a known incident type.
func (t IncidentType) Valid() bool {
	for _, v := range IncidentTypes {
		if t == v {
			return true
		}
	}
	return false
}

// IncidentStatus is where an incident is in its life: open, then
// acknowledged by an operator, then resolved (by an operator, or by itself
// when its condition clears).
type IncidentStatus string

// Incident statuses.
const (
	IncidentOpen         IncidentStatus = "open"
	IncidentAcknowledged IncidentStatus = "acknowledged"
	IncidentResolved     IncidentStatus = "resolved"
)

// Valid reports whether s is one of the three statuses.
func (s IncidentStatus) Valid() bool {
	switch s {
	case IncidentOpen, IncidentAcknowledged, IncidentResolved:
		return true
	}
	return false
}

// SystemActor is who resolves an incident whose condition cleared.
const SystemActor = "system"

// Incident is a problem at one space, opened by the detector and closed by
// staff or by itself. Times are UTC; the zero time means not yet.
type Incident struct {
	ID       string         `json:"id"`
	Type     IncidentType   `json:"type"`
	SpaceID  string         `json:"space_id"`
	ZoneID   string         `json:"zone_id"`
	Status   IncidentStatus `json:"status"`
	Detail   string         `json:"detail"`
	OpenedAt time.Time      `json:"opened_at"`
	// Start is when the condition began (for overstay the start of the stay,
	// for offline the last time the sensor was heard); it is part of ID.
	Start          time.Time `json:"start"`
	AcknowledgedAt time.Time `json:"acknowledged_at"`
	AcknowledgedBy string    `json:"acknowledged_by"`
	AckNote        string    `json:"ack_note"`
	ResolvedAt     time.Time `json:"resolved_at"`
	ResolvedBy     string    `json:"resolved_by"`
	ResolveNote    string    `json:"resolve_note"`
}

// SensorChange is one occupancy change a sensor made (to free or occupied;
// not a sweep to unknown, not a closure): its space, when, and its
// position in the zone's feed. A sensor's changes per hour tell flapping.
type SensorChange struct {
	SpaceID string
	Time    time.Time
	Pos     string
}

// ConditionKey names the condition of type t at a space, whatever its start:
// "type|space". A condition has at most one incident at a time.
func ConditionKey(t IncidentType, spaceID string) string { return string(t) + "|" + spaceID }

// IncidentRetention is how long a resolved incident is kept.
const IncidentRetention = 90 * 24 * time.Hour

// IncidentID is the id of the incident of type t at space, whose condition
// began at start: "type.space.start_ms". The same condition always gets
// the same id.
func IncidentID(t IncidentType, spaceID string, start time.Time) string {
	return string(t) + "." + spaceID + "." + strconv.FormatInt(start.UnixMilli(), 10)
}

// ParseIncidentID splits an id made by IncidentID; false if it is not one.
func ParseIncidentID(id string) (t IncidentType, spaceID string, start time.Time, ok bool) {
	i, j := strings.IndexByte(id, '.'), strings.LastIndexByte(id, '.')
	if i <= 0 || j <= i+1 {
		return "", "", time.Time{}, false
	}
	ms, err := strconv.ParseInt(id[j+1:], 10, 64)
	if err != nil || !IncidentType(id[:i]).Valid() {
		return "", "", time.Time{}, false
	}
	return IncidentType(id[:i]), id[i+1 : j], time.UnixMilli(ms).UTC(), true
}

// Acknowledge acknowledges an open incident on behalf of by, with a note,
// at now, and reports whether it changed anything: acknowledging an
// acknowledged incident changes nothing; a resolved one is ECONFLICT.
func (inc *Incident) Acknowledge(now time.Time, by, note string) (bool, error) {
	switch inc.Status {
	case IncidentResolved:
		return false, Errorf(ECONFLICT, "incident %s is already resolved", inc.ID)
	case IncidentAcknowledged:
		return false, nil
	}
	inc.Status, inc.AcknowledgedAt, inc.AcknowledgedBy, inc.AckNote = IncidentAcknowledged, now.UTC(), by, note
	return true, nil
}

// Resolve resolves an open or acknowledged incident on behalf of by, with
// a note, at now; a resolved one is ECONFLICT.
func (inc *Incident) Resolve(now time.Time, by, note string) (bool, error) {
	if inc.Status == IncidentResolved {
		return false, Errorf(ECONFLICT, "incident %s is already resolved", inc.ID)
	}
	inc.Status, inc.ResolvedAt, inc.ResolvedBy, inc.ResolveNote = IncidentResolved, now.UTC(), by, note
	return true, nil
}

// NewestFirst sorts incs by when they opened, newest first (ties by id),
// and returns at most limit of them (all when limit is 0).
func NewestFirst(incs []Incident, limit int) []Incident {
	sort.Slice(incs, func(i, j int) bool {
		if !incs[i].OpenedAt.Equal(incs[j].OpenedAt) {
			return incs[i].OpenedAt.After(incs[j].OpenedAt)
		}
		return incs[i].ID < incs[j].ID
	})
	if limit > 0 && len(incs) > limit {
		incs = incs[:limit]
	}
	return incs
}

// IncidentFilter selects incidents; empty fields match all.
type IncidentFilter struct {
	Status IncidentStatus
	Type   IncidentType
	ZoneID string
}

// Validate reports an EINVALID error for an unknown status or type.
func (f IncidentFilter) Validate() error {
	if f.Status != "" && !f.Status.Valid() {
		return Errorf(EINVALID, "status %q is not open, acknowledged or resolved", f.Status)
	}
	if f.Type != "" && !f.Type.Valid() {
		return Errorf(EINVALID, "type %q is not overstay, offline, low_battery, flapping or clock_skew", f.Type)
	}
	return nil
}

// Match reports whether inc passes f.
func (f IncidentFilter) Match(inc Incident) bool {
	return (f.Status == "" || inc.Status == f.Status) && (f.Type == "" || inc.Type == f.Type) &&
		(f.ZoneID == "" || inc.ZoneID == f.ZoneID)
}

// MaxNoteLen bounds an acknowledgement or resolution note, in bytes.
const MaxNoteLen = 1000

// ValidateNote checks an acknowledgement or resolution note: at most
// MaxNoteLen bytes of text, lines and tabs allowed (CheckText). The error
// is EINVALID.
func ValidateNote(note string) error { return CheckText("note", note, MaxNoteLen, true) }

// Condition is an incident's cause as the detector sees it now.
type Condition struct {
	Type   IncidentType
	Start  time.Time
	Detail string
}

// Conditions returns the incident conditions of one space at now: overstay
// when it is occupied longer than sp.MaxStayMin, and one per health problem.
// Overstay and offline start when the stay began and when the sensor was
// last heard, so a new stay or a new silence is a new incident; low battery
// flapping and clock_skew start at now (the detector keeps the start of
// one already open).
func (r HealthRules) Conditions(sp Space, h SensorHealth, now time.Time) []Condition {
	var out []Condition
	st := h.State
	if st.Status == StatusOccupied && sp.MaxStayMin > 0 && !st.Since.IsZero() &&
		now.Sub(st.Since) > time.Duration(sp.MaxStayMin)*time.Minute {
		out = append(out, Condition{IncidentOverstay, st.Since,
			"occupied since " + st.Since.Format(time.RFC3339) + ", limit " + strconv.Itoa(sp.MaxStayMin) + " min"})
	}
	for _, p := range r.Problems(h, now) {
		c := Condition{Type: IncidentType(p), Start: now}
		switch p {
		case HealthOffline:
			c.Start, c.Detail = st.LastSeen, "silent since "+st.LastSeen.Format(time.RFC3339)
		case HealthLowBattery:
			c.Detail = "battery " + strconv.Itoa(st.BatteryMV) + " mV"
		case HealthFlapping:
			c.Detail = strconv.Itoa(h.ChangesLastHour) + " state changes in the last hour"
		case HealthClockSkew:
			c.Detail = "reading rejected: " + st.Health.Clock.String()
		}
		out = append(out, c)
	}
	return out
}

// SameCondition reports whether an incident that began at start still
// describes c: overstay and offline only while their start is the same.
func SameCondition(c Condition, start time.Time) bool {
	switch c.Type {
	case IncidentOverstay, IncidentOffline:
		return c.Start.UnixMilli() == start.UnixMilli()
	}
	return true
}

// MarshalJSON writes the incident as the API shows it: times in RFC 3339
// UTC, and null for the acknowledgement and resolution fields not yet
// reached. Decoding the result with encoding/json gives the incident back.
func (inc Incident) MarshalJSON() ([]byte, error) {
	type plain Incident // no methods: no recursion
	var out struct {
		plain
		AcknowledgedAt *time.Time `json:"acknowledged_at"`
		AcknowledgedBy *string    `json:"acknowledged_by"`
		AckNote        *string    `json:"ack_note"`
		ResolvedAt     *time.Time `json:"resolved_at"`
		ResolvedBy     *string    `json:"resolved_by"`
		ResolveNote    *string    `json:"resolve_note"`
	}
	out.plain = plain(inc)
	out.Start, out.OpenedAt = inc.Start.UTC(), inc.OpenedAt.UTC()
	if !inc.AcknowledgedAt.IsZero() {
		at := inc.AcknowledgedAt.UTC()
		out.AcknowledgedAt, out.AcknowledgedBy, out.AckNote = &at, &inc.AcknowledgedBy, &inc.AckNote
	}
	if !inc.ResolvedAt.IsZero() {
		at := inc.ResolvedAt.UTC()
		out.ResolvedAt, out.ResolvedBy, out.ResolveNote = &at, &inc.ResolvedBy, &inc.ResolveNote
	}
	return json.Marshal(out)
}
