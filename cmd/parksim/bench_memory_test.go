package main

import "testing"

func TestKeyKind(t *testing.T) {
	tests := []struct{ key, want string }{
		{"pk:{Z01}:s", "states"},
		{"pk:{Z01}:free:ev", "free geo sets"},
		{"pk:{Z0001}:c", "counters"},
		{"pk:{Z01}:inc:active", "incidents"},
		{"pk:{Z01}:h:20261126", "history"},
		{"pk:{Z01}:lv", "lv"},
		{"pk:rejected", "other"},
	}
	for _, tc := range tests {
		if got := keyKind(tc.key); got != tc.want {
			t.Errorf("keyKind(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
