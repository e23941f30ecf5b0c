package occupancy

import "testing"

func TestNextLevel(t *testing.T) {
	th := LevelThresholds{AlmostFullOn: 85, AlmostFullOff: 80, FullOn: 100, FullOff: 95}
	counts := func(free, occ, unknown, closed int) Counts {
		return Counts{Total: free + occ + unknown + closed, Free: free, Occupied: occ, Unknown: unknown, Closed: closed}
	}
	tests := []struct {
		name string
		prev Level
		c    Counts
		want Level
	}{
		{"no spaces", "", Counts{}, LevelUnknown},
		{"all closed", LevelFull, counts(0, 0, 0, 5), LevelClosed},
		{"most open spaces unknown", "", counts(1, 1, 3, 0), LevelUnknown},
		{"half heard is enough", "", counts(2, 0, 2, 0), LevelSpacesAvailable},
		{"closed spaces do not count", "", counts(3, 17, 0, 30), LevelAlmostFull},
		{"below almostFull on", "", counts(4, 16, 0, 0), LevelSpacesAvailable},
		{"rises at almostFull on", LevelSpacesAvailable, counts(3, 17, 0, 0), LevelAlmostFull},
		{"almostFull holds above off", LevelAlmostFull, counts(4, 16, 0, 0), LevelAlmostFull},
		{"almostFull falls below off", LevelAlmostFull, counts(5, 15, 0, 0), LevelSpacesAvailable},
		{"rises to full with no free space", LevelAlmostFull, counts(0, 20, 0, 0), LevelFull},
		{"full holds at full off", LevelFull, counts(1, 19, 0, 0), LevelFull},
		{"full falls to almostFull", LevelFull, counts(2, 18, 0, 0), LevelAlmostFull},
		{"full falls to spacesAvailable", LevelFull, counts(10, 10, 0, 0), LevelSpacesAvailable},
		{"one free is not full from below", LevelSpacesAvailable, counts(1, 19, 0, 0), LevelAlmostFull},
		{"from unknown rises directly", LevelUnknown, counts(0, 20, 0, 0), LevelFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NextLevel(tc.prev, tc.c, th); got != tc.want {
				t.Fatalf("NextLevel(%q, %+v) = %s, want %s", tc.prev, tc.c, got, tc.want)
			}
		})
	}
}

func TestLevelThresholdsValidate(t *testing.T) {
	for zt, th := range DefaultLevelThresholds {
		if err := th.Validate(); err != nil {
			t.Errorf("default for %s: %v", zt, err)
		}
	}
	bad := []LevelThresholds{
		{},
		{AlmostFullOn: 80, AlmostFullOff: 85, FullOn: 100, FullOff: 95}, // off above on
		{AlmostFullOn: 85, AlmostFullOff: 80, FullOn: 101, FullOff: 95}, // over 100
		{AlmostFullOn: 85, AlmostFullOff: 80, FullOn: 95, FullOff: 100}, // full off above on
		{AlmostFullOn: 90, AlmostFullOff: 80, FullOn: 100, FullOff: 85}, // full off below almostFull on
	}
	for _, th := range bad {
		if err := th.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("%+v: %v, want invalid", th, err)
		}
	}
}
