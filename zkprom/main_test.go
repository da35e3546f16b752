package zkprom_test

// This file is written by hand in each zkprom (this one, go-micro v4;
// module v5's, go-micro v5): what the tests do differently per go-micro
// line. The other test files of module v5's zkprom are generated from
// this package's, but hello_test.go and readme_test.go, which test the v4
// hello example and this package's README.

import (
	"fmt"
	"os"
	"testing"

	"go-micro.dev/v4/registry"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zkprom-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkprom tests:", err)
		os.Exit(1)
	}
	helloServer.programs = dir
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		// go-micro's config package starts goroutines when it loads (and
		// some a moment later), and its memory registry one that nothing
		// stops (the foreign registry of a test); they are not ours.
		goleak.IgnoreTopFunction("go-micro.dev/v4/config/loader/memory.(*memory).Watch.func1"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run.func2"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/registry.(*memRegistry).ttlPrune"),
		goleak.Cleanup(func(code int) {
			_ = os.RemoveAll(dir)
			os.Exit(code)
		}),
	)
}

// newMDNSRegistry returns go-micro's mdns registry, a registry of another
// plugin (go-micro v4 names its constructor NewRegistry).
func newMDNSRegistry() registry.Registry { return registry.NewRegistry() }
