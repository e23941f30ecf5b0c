//go:build race

package town

// raceEnabled is true when the tests run under the race detector, which
// makes the million-space test too slow for the default suite.
const raceEnabled = true
