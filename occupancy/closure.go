package occupancy

import (
	"time"
	"unicode/utf8"
)

// MaxClosureReason caps the length of a closure's reason, in bytes.
const MaxClosureReason = 500

// Closure takes a space, or every space of a zone, out of use. A closed
// space reports StatusClosed whatever its sensor says and never counts as
// free; it reopens by itself at Until (when not zero).
type Closure struct {
	// Target is the space id, or the zone id for a zone closure.
	Target string `json:"target"`
	// Zone is true for a closure of a whole zone.
	Zone bool `json:"zone"`
	// Reason says why, for staff and drivers; required.
	Reason string `json:"reason"`
	// Until is when the closure ends by itself; zero for until reopened.
	Until time.Time `json:"until"`
	// ClosedAt is when it was closed.
	ClosedAt time.Time `json:"closed_at"`
	// By names who closed it (the staff token's name or role); may be empty.
	By string `json:"by"`
}

// Validate checks a new closure at time now: a reason of 1 to
// MaxClosureReason bytes of UTF-8, and Until, when set, after now. The
// error is EINVALID.
func (c Closure) Validate(now time.Time) error {
	switch {
	case c.Reason == "":
		return Errorf(EINVALID, "reason is required")
	case len(c.Reason) > MaxClosureReason:
		return Errorf(EINVALID, "reason is longer than %d bytes", MaxClosureReason)
	case !utf8.ValidString(c.Reason):
		return Errorf(EINVALID, "reason is not UTF-8")
	case !c.Until.IsZero() && !c.Until.After(now):
		return Errorf(EINVALID, "until %s is not in the future", c.Until.UTC().Format(time.RFC3339))
	}
	return nil
}
