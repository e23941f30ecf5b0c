//go:build !race

package town

// raceEnabled is true when the tests run under the race detector.
const raceEnabled = false
