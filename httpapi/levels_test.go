package httpapi

import (
	"fmt"
	"testing"
	"time"
)

// TestZoneLevel follows zone ZA's level (on-street: almostFull 85 on / 80
// off, full 100 on / 95 off) through the zone answers as its 7 spaces fill,
// empty and close.
func TestZoneLevel(t *testing.T) {
	e := newEnv(t)
	level := func() string {
		t.Helper()
		var z zoneOut
		e.get(t, "/api/v1/zones/ZA", 200, &z)
		var all struct {
			Zones []zoneOut `json:"zones"`
		}
		e.get(t, "/api/v1/zones", 200, &all)
		if all.Zones[0].ID != "ZA" || all.Zones[0].Level != z.Level {
			t.Fatalf("list says %+v, zone says %s", all.Zones[0], z.Level)
		}
		return z.Level
	}
	if got := level(); got != "unknown" {
		t.Fatalf("never heard: %s, want unknown", got)
	}
	ts := t0
	set := func(i int, occupied bool) string {
		ts = ts.Add(time.Second)
		e.apply(t, fmt.Sprintf("ZA-%02d", i), occupied, ts)
		return level()
	}
	for i := 1; i <= 7; i++ {
		set(i, false)
	}
	steps := []struct {
		space    int
		occupied bool
		want     string
	}{
		{1, true, "spacesAvailable"},
		{2, true, "spacesAvailable"},
		{3, true, "spacesAvailable"},
		{4, true, "spacesAvailable"},
		{5, true, "spacesAvailable"}, // 5/7 = 71 %
		{6, true, "almostFull"},      // 86 %
		{7, true, "full"},            // 100 %
		{7, false, "almostFull"},     // 86 % < 95 %
		{6, false, "spacesAvailable"},
	}
	for _, st := range steps {
		if got := set(st.space, st.occupied); got != st.want {
			t.Fatalf("ZA-%02d occupied=%v: level %s, want %s", st.space, st.occupied, got, st.want)
		}
	}
	closureCall(t, e, nil, "/api/v1/zones/ZA/close", operatorToken, `{"reason":"x"}`, 200, nil)
	if got := level(); got != "closed" {
		t.Fatalf("closed zone: %s", got)
	}
}
