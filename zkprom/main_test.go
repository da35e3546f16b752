package zkprom_test

import (
	"fmt"
	"os"
	"testing"

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
