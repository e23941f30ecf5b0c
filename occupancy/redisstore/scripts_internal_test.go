package redisstore

import (
	"regexp"
	"strconv"
	"testing"
)

// TestScriptConstants holds the Lua scripts' constants equal to the Go
// ones they mirror: the arguments per reading of apply.lua and the time
// the streams keep (common.lua).
func TestScriptConstants(t *testing.T) {
	for _, tc := range []struct {
		file, name string
		want       int64
	}{
		{"apply", "R", applyFields},
		{"common", "EVENT_KEEP_MS", eventKeep.Milliseconds()},
	} {
		m := regexp.MustCompile(`(?m)^local ` + tc.name + ` = (\d+)$`).FindStringSubmatch(luaSource(tc.file))
		if m == nil {
			t.Errorf("lua/%s.lua: no line `local %s = N`", tc.file, tc.name)
			continue
		}
		if got, _ := strconv.ParseInt(m[1], 10, 64); got != tc.want {
			t.Errorf("lua/%s.lua: %s = %d, the Go side says %d", tc.file, tc.name, got, tc.want)
		}
	}
}
