package occupancy

// CheckReport is what a consistency check of the stored state found, ready
// to print as JSON.
type CheckReport struct {
	// Zones is how many zones were checked.
	Zones int `json:"zones"`
	// Spaces is how many registry spaces were checked.
	Spaces int `json:"spaces"`
	// Drift lists every difference between the zones' indexes and counters
	// and their spaces' states, sorted by zone, kind and what.
	Drift []Drift `json:"drift"`
	// Repaired is true when the check was asked to repair.
	Repaired bool `json:"repaired"`
}

// Unfixed counts the drift items the check did not fix.
func (r CheckReport) Unfixed() int {
	n := 0
	for _, d := range r.Drift {
		if !d.Fixed {
			n++
		}
	}
	return n
}

// Drift is one difference found by a check.
type Drift struct {
	// Zone is the zone's id.
	Zone string `json:"zone"`
	// Kind says what drifted: one of the Drift* constants.
	Kind string `json:"kind"`
	// What names the counter (total, free, …) or the space id.
	What string `json:"what"`
	// Expected is what the spaces' states imply; Found is what was stored.
	Expected string `json:"expected"`
	Found    string `json:"found"`
	// Fixed is true when the repair corrected it. DriftBadState is only
	// reported.
	Fixed bool `json:"fixed"`
}

// The kinds of drift a check reports.
const (
	// DriftCounter: a zone counter differs from the count of its spaces.
	DriftCounter = "counter"
	// DriftFreeSet: a free geo set (named in Expected/Found as
	// "free:KIND") lacks a free space or holds a space that is not free or
	// not of that kind.
	DriftFreeSet = "free_set"
	// DriftFreeSetPosition: a free space is in its geo set at a point more
	// than about a metre from its registry coordinates (Expected and Found
	// are "lon,lat").
	DriftFreeSetPosition = "free_set_position"
	// DriftMissing: a registry space has no stored state (repair adds it as
	// unknown).
	DriftMissing = "missing_state"
	// DriftUnregistered: a stored state belongs to no registry space of the
	// zone (an orphan: Found is the packed state). Repair deletes it, with
	// its free-set entries, and corrects the counters.
	DriftUnregistered = "unregistered_state"
	// DriftUnregisteredClosure: a closure of a space that is not in the
	// zone. Repair ends it.
	DriftUnregisteredClosure = "unregistered_closure"
	// DriftUnregisteredIncident: an open incident (What its id, Found its
	// status) or an active condition (What "type|space") of a space that is
	// not in the zone. Repair resolves the incident as the system with the
	// note "space removed from the registry" and forgets the condition.
	DriftUnregisteredIncident = "unregistered_incident"
	// DriftBadState: a stored state does not parse. Reported only; it counts
	// as unknown.
	DriftBadState = "bad_state"
	// DriftClosure: a space of a closure (its own or its zone's) is not
	// closed (repair closes it), or a closed space has no closure (repair
	// makes it unknown until its sensor's next reading).
	DriftClosure = "closure"
)
