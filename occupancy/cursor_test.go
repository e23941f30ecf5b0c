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
