package zkconfig

import (
	"testing"

	"go-micro.dev/v4/logger"
	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind. Goroutines
// running before the tests (go-micro's imports start a cache janitor and a
// default config) are not the tests' own, nor are those go-micro's config
// leaves behind by design: config.Close crashes in v4.11.0 (see
// closeConfig), so a config's run loop outlives it, and its loader's watch
// loop sleeps a second after its source's watcher stops.
func TestMain(m *testing.M) {
	// Quiet the default logger: sources under test log through it.
	_ = logger.Init(logger.WithLevel(logger.ErrorLevel))
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("go-micro.dev/v4/config.(*config).run"),
		goleak.IgnoreAnyFunction("go-micro.dev/v4/config.(*config).run.func2"),
		goleak.IgnoreAnyFunction("go-micro.dev/v4/config/loader/memory.(*memory).watch"),
		goleak.IgnoreAnyFunction("go-micro.dev/v4/config/loader/memory.(*memory).Watch.func1"),
	)
}
