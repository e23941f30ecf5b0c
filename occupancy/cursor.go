package occupancy

import (
	"cmp"
	"strconv"
	"strings"
	"time"
)

// Positions in the live feed. Each zone's events are kept in order, and an
// event's position in its zone is "MS-SEQ": the time its entry was
// appended (Unix ms) and a sequence number within that millisecond, as
// Redis stream entry ids are. An event id is its position and its zone,
// "MS-SEQ@ZONE" (e.g. 1764110000000-3@Z01): what an SSE client sends back
// as Last-Event-ID.

// StartPosition is the position before every event of a zone.
const StartPosition = "0-0"

// SplitEventID splits an event id into its position and zone; ok is false
// for a string that is not an event id.
func SplitEventID(id string) (pos, zone string, ok bool) {
	pos, zone, ok = strings.Cut(id, "@")
	if !ok || zone == "" {
		return "", "", false
	}
	ms, seq, ok := strings.Cut(pos, "-")
	if _, err := strconv.ParseUint(ms, 10, 64); !ok || err != nil {
		return "", "", false
	}
	if _, err := strconv.ParseUint(seq, 10, 64); err != nil {
		return "", "", false
	}
	return pos, zone, true
}

// PositionTime returns the time of a position (or of an event id): its
// Unix milliseconds. A position that does not parse is at Unix time 0.
func PositionTime(pos string) time.Time {
	ms, _, _ := strings.Cut(pos, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n).UTC()
}

// ComparePositions orders two positions by time, then sequence. A position
// that does not parse sorts as 0-0.
func ComparePositions(a, b string) int {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ams, _ := strconv.ParseUint(am, 10, 64)
	bms, _ := strconv.ParseUint(bm, 10, 64)
	asq, _ := strconv.ParseUint(as, 10, 64)
	bsq, _ := strconv.ParseUint(bs, 10, 64)
	return cmp.Or(cmp.Compare(ams, bms), cmp.Compare(asq, bsq))
}

// EventCursor is a reader's position in every zone's feed: the position of
// the last event it read in each zone. A zone it has no position for (one
// added to the registry after the cursor was made) reads from its default.
// It is not safe for concurrent use.
type EventCursor struct {
	pos map[string]string
	def string
}

// NewEventCursor returns a cursor at def in every zone.
func NewEventCursor(def string) *EventCursor {
	return &EventCursor{pos: map[string]string{}, def: def}
}

// Pos returns the cursor's position in zone.
func (c *EventCursor) Pos(zone string) string {
	if p, ok := c.pos[zone]; ok {
		return p
	}
	return c.def
}

// Set moves the cursor to pos in zone.
func (c *EventCursor) Set(zone, pos string) { c.pos[zone] = pos }

// Reached reports whether c is at or past end's position in every zone end
// has one: a reader at c has read everything end marks.
func (c *EventCursor) Reached(end *EventCursor) bool {
	for zone, pos := range end.pos {
		if ComparePositions(c.Pos(zone), pos) < 0 {
			return false
		}
	}
	return true
}

// Newest returns the event id of the cursor's newest position, over the
// zones it has a position for (ties go to the first zone in ID order), or
// "" when it has none past StartPosition.
func (c *EventCursor) Newest() string {
	var zone, pos string
	for z, p := range c.pos {
		if d := ComparePositions(p, pos); d > 0 || d == 0 && pos != "" && z < zone {
			zone, pos = z, p
		}
	}
	if zone == "" || ComparePositions(pos, StartPosition) <= 0 {
		return ""
	}
	return pos + "@" + zone
}

// Unseen returns the events of evs that come after c in their zone, and
// moves c past them: a reader that caught up with reads of its own passes
// a shared reader's batches through it to skip what it read already. evs
// must hold whole entries (the events that share an id come together), as
// the feed's batches do.
func (c *EventCursor) Unseen(evs []Event) []Event {
	var out []Event
	kept := map[string]string{} // zone -> position kept in this call
	for _, e := range evs {
		pos, zone, ok := strings.Cut(e.ID, "@")
		if !ok {
			continue
		}
		if ComparePositions(pos, c.Pos(zone)) > 0 || kept[zone] == pos {
			out = append(out, e)
			c.pos[zone], kept[zone] = pos, pos
		}
	}
	return out
}

// EventCursorAfter returns the cursor of a reader resuming after the event
// id last: in last's zone just after it; in every other zone from window
// before its time (the zones' positions come from clocks that may differ a
// little, see redisstore). EINVALID for a string that is not an event id.
func EventCursorAfter(last string, window time.Duration) (*EventCursor, error) {
	pos, zone, ok := SplitEventID(last)
	if !ok {
		return nil, Errorf(EINVALID, "Last-Event-ID %q is not an event id", last)
	}
	ms, _ := strconv.ParseInt(pos[:strings.IndexByte(pos, '-')], 10, 64)
	from := StartPosition
	if w := ms - window.Milliseconds(); w > 0 {
		from = strconv.FormatInt(w-1, 10) + "-18446744073709551615" // just before w-0
	}
	c := NewEventCursor(from)
	c.Set(zone, pos)
	return c, nil
}
