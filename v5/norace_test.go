//go:build !race

package zookeeper

// raceEnabled reports a test binary built with -race: programs the tests
// build are built so too, to share its compiled packages.
const raceEnabled = false
