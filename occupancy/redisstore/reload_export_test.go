package redisstore

import "time"

// SetRetireGrace sets the pause between Reload's two retire passes and
// returns a function that restores it.
func SetRetireGrace(d time.Duration) func() {
	old := retireGrace
	retireGrace = d
	return func() { retireGrace = old }
}
