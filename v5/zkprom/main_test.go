package zkprom_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		// go-micro's memory registry starts a goroutine that nothing stops
		// (the foreign registry of a test); it is not ours.
		goleak.IgnoreTopFunction("go-micro.dev/v5/registry.(*memRegistry).ttlPrune"),
	)
}
