package zkconfig

// This file is written by hand in each config face (zkconfig, go-micro
// v4; module v5's zkconfig, go-micro v5): the tests' dealings with
// go-micro's config that differ between the two lines. The other test
// files of module v5's zkconfig are generated from this package's.

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config"
	"go-micro.dev/v4/config/reader"
	"go-micro.dev/v4/logger"
	"go.uber.org/goleak"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// TestMain fails the run if a test leaves a goroutine behind. Goroutines
// running before the tests (go-micro's imports start a cache janitor and a
// default config) are not the tests' own, nor are those go-micro's config
// leaves behind: the tests do not call config.Close (see closeConfig), so
// a config's run loop outlives it, and its loader's watch loop sleeps a
// second after its source's watcher stops.
func TestMain(m *testing.M) {
	if addr := os.Getenv(closeChildEnv); addr != "" {
		os.Exit(closeChild(addr))
	}
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

// go-micro v4.11.0's config.Close crashes the process: the goroutine
// that stops the config's loader watcher calls Error on the nil error the
// watcher's Stop returns. This is why the package documentation says to
// close the loader only; should a later go-micro v4 mend it, this test
// fails, and the documentation can say conf.Close as the v5 face's does.
func TestConfigCloseCrashesGoMicroV4(t *testing.T) {
	srv := zktest.Start(t)
	out, err := runCloseChild(t, srv.Addr)
	require.Error(t, err, "the child survived config.Close:\n%s", out)
	assert.Contains(t, out, "nil pointer dereference")
	assert.Contains(t, out, "go-micro.dev/v4/config.(*config).run")
	assert.NotContains(t, out, "CLOSED")
}

// go-micro v4's config watcher
// reports every change of its key, a return to the value it started from
// included. (go-micro v5.30.0's does not: the v5 face's test.)
func TestConfigWatchReportsAReturnToItsStart(t *testing.T) {
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/micro-config/greeting", "Hi")
	conf := newConfig(t, newSource(t, WithAddress(srv.Addr)))
	w, err := conf.Watch("greeting")
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Stop() })

	put(t, c, "/micro-config/greeting", "Hej")
	assert.Equal(t, "Hej", nextValue(t, w).String(""))
	put(t, c, "/micro-config/greeting", "Hi")
	assert.Equal(t, "Hi", nextValue(t, w).String(""), "back to where the watcher started")
}

// configValue returns the value at path in conf. (go-micro v4's
// config.Get returns it alone; v5's with an error.)
func configValue(t testing.TB, conf config.Config, path ...string) reader.Value {
	t.Helper()
	v := conf.Get(path...)
	require.NotNil(t, v, "config.Get%q", path)
	return v
}
