//go:build race

package zktest

// raceEnabled reports a binary built with the race detector.
const raceEnabled = true
