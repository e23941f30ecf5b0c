package occupancy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestIncidentIDRoundTrip(t *testing.T) {
	start := time.Date(2026, 11, 25, 8, 0, 0, 123e6, time.UTC)
	for _, tc := range []struct {
		typ   IncidentType
		space string
	}{
		{IncidentOverstay, "QA-Z01-0001"},
		{IncidentLowBattery, "a.b.c"}, // dots in a space id
		{IncidentFlapping, "X"},
	} {
		t.Run(string(tc.typ)+" "+tc.space, func(t *testing.T) {
			typ, space, at, ok := ParseIncidentID(IncidentID(tc.typ, tc.space, start))
			if !ok || typ != tc.typ || space != tc.space || !at.Equal(start) {
				t.Errorf("got %s %s %s %v", typ, space, at, ok)
			}
		})
	}
	for _, bad := range []string{"", "overstay", "overstay.X", "fire.X.1", "overstay..1", "overstay.X.abc", ".X.1"} {
		if _, _, _, ok := ParseIncidentID(bad); ok {
			t.Errorf("ParseIncidentID(%q) ok, want not", bad)
		}
	}
}

func TestHealthProblemsAndConditions(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	r := HealthRules{}.WithDefaults()
	sp := Space{ID: "S", MaxStayMin: 60}
	for _, tc := range []struct {
		name string
		h    SensorHealth
		want string // condition types
	}{
		{"never heard", SensorHealth{State: SpaceState{Status: StatusUnknown}}, ""},
		{"healthy, occupied 59 min", SensorHealth{State: SpaceState{Status: StatusOccupied, Since: now.Add(-59 * time.Minute),
			LastSeen: now, BatteryMV: 3600}}, ""},
		{"overstay", SensorHealth{State: SpaceState{Status: StatusOccupied, Since: now.Add(-61 * time.Minute), LastSeen: now}}, "overstay"},
		{"offline and low", SensorHealth{State: SpaceState{Status: StatusUnknown, LastSeen: now.Add(-31 * time.Minute),
			BatteryMV: 2999}}, "offline,low_battery"},
		{"flapping at 10", SensorHealth{State: SpaceState{Status: StatusFree, LastSeen: now}, ChangesLastHour: 10}, "flapping"},
		{"9 changes", SensorHealth{State: SpaceState{Status: StatusFree, LastSeen: now}, ChangesLastHour: 9}, ""},
		{"closed, occupied sensor", SensorHealth{State: SpaceState{Status: StatusClosed, Since: now.Add(-5 * time.Hour), LastSeen: now}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range r.Conditions(sp, tc.h, now) {
				got = append(got, string(c.Type))
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("conditions %v, want %s", got, tc.want)
			}
		})
	}
}

func TestIncidentJSONNullsStepsNotReached(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	inc := Incident{ID: "overstay.S.1", Type: IncidentOverstay, SpaceID: "S", ZoneID: "Z", Status: IncidentAcknowledged,
		OpenedAt: at, Start: at, AcknowledgedAt: at.Add(time.Minute), AcknowledgedBy: "operator:ab", AckNote: ""}
	b, err := json.Marshal(inc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"ack_note":""`, `"acknowledged_by":"operator:ab"`, `"resolved_at":null`, `"resolved_by":null`, `"resolve_note":null`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %s", s, want)
		}
	}
	var back Incident
	if err := json.Unmarshal(b, &back); err != nil || back != inc {
		t.Errorf("round trip: %+v, %v; want %+v", back, err, inc)
	}
}
