package occupancy_test

import (
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// TestEventCursorNewest: the newest position of a cursor, as an event id,
// and the time of a position.
func TestEventCursorNewest(t *testing.T) {
	c := occupancy.NewEventCursor(occupancy.StartPosition)
	if id := c.Newest(); id != "" {
		t.Errorf("an empty cursor's newest: %q", id)
	}
	c.Set("Z02", "1764110000000-3")
	c.Set("Z01", "1764110000000-3")
	c.Set("Z03", "1764109999999-9")
	if id := c.Newest(); id != "1764110000000-3@Z01" {
		t.Errorf("newest %q, want 1764110000000-3@Z01", id)
	}
	if at := occupancy.PositionTime("1764110000000-3@Z01"); !at.Equal(time.UnixMilli(1764110000000)) {
		t.Errorf("PositionTime %v", at)
	}
	if at := occupancy.PositionTime("bogus"); !at.Equal(time.UnixMilli(0)) {
		t.Errorf("PositionTime of a bad position %v", at)
	}
}

// TestEventCursorReached: a cursor has reached another when it is at or
// past it in every zone the other has a position for.
func TestEventCursorReached(t *testing.T) {
	end := occupancy.NewEventCursor(occupancy.StartPosition)
	end.Set("A", "100-1")
	end.Set("B", "90-0")
	c := occupancy.NewEventCursor("95-0") // B at 95-0 by default
	if c.Reached(end) {
		t.Error("reached with A behind")
	}
	c.Set("A", "100-1")
	if !c.Reached(end) {
		t.Error("not reached with A at and B past the end")
	}
	if !c.Reached(occupancy.NewEventCursor(occupancy.StartPosition)) {
		t.Error("not reached an end without positions")
	}
}
