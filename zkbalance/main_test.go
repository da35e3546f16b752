package zkbalance

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		// go-micro's config package starts goroutines when it loads (and
		// some a moment later), and its memory registry one that nothing
		// stops (the foreign registry of a test); they are not ours.
		goleak.IgnoreTopFunction("go-micro.dev/v4/config/loader/memory.(*memory).Watch.func1"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config/loader/memory.(*watcher).Next"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run.func2"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run"),
		goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/registry.(*memRegistry).ttlPrune"),
	)
}
