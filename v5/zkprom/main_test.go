package zkprom_test

// This file is written by hand in each zkprom (the root module's,
// go-micro v4; this one, go-micro v5): what the tests do differently per
// go-micro line. The other test files here are generated from the root
// module's zkprom.

import (
	"testing"

	"go-micro.dev/v5/registry"
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

// newMDNSRegistry returns go-micro's mdns registry, a registry of another
// plugin (go-micro v5 names its constructor NewMDNSRegistry).
func newMDNSRegistry() registry.Registry { return registry.NewMDNSRegistry() }
