//go:build !race

package main

// raceEnabled: the tests run without -race, and so does the binary they
// build.
const raceEnabled = false
