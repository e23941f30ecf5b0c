package occupancy

import (
	"time"
	"unicode"
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
// MaxClosureReason bytes of UTF-8 on one line, without control characters
// (CheckText), and Until, when set, after now. The error is EINVALID.
func (c Closure) Validate(now time.Time) error {
	if c.Reason == "" {
		return Errorf(EINVALID, "reason is required")
	}
	if err := CheckText("reason", c.Reason, MaxClosureReason, false); err != nil {
		return err
	}
	if !c.Until.IsZero() && !c.Until.After(now) {
		return Errorf(EINVALID, "until %s is not in the future", c.Until.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckText checks a text field that people type and others read (a
// closure's reason, an incident note): at most max bytes of UTF-8 without
// control characters (C0, DEL, C1: NUL, escape sequences, bidirectional
// overrides are not text), except, when multiline, newline and tab. The
// error is EINVALID and names the field and what is wrong.
func CheckText(field, s string, max int, multiline bool) error {
	switch {
	case len(s) > max:
		return Errorf(EINVALID, "%s is longer than %d bytes", field, max)
	case !utf8.ValidString(s):
		return Errorf(EINVALID, "%s is not UTF-8", field)
	}
	for i, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return Errorf(EINVALID, "%s holds the control character %U at byte %d", field, r, i)
		}
	}
	return nil
}
