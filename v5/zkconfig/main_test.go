package zkconfig

// This file is written by hand in each config face (the root module's
// zkconfig, go-micro v4; this one, go-micro v5): the tests' dealings with
// go-micro's config that differ between the two lines. The other test
// files here but fleet_test.go are generated from the root module's
// zkconfig.

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v5/config"
	"go-micro.dev/v5/config/reader"
	"go-micro.dev/v5/logger"
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
		goleak.IgnoreAnyFunction("go-micro.dev/v5/config.(*config).run"),
		goleak.IgnoreAnyFunction("go-micro.dev/v5/config.(*config).run.func2"),
		goleak.IgnoreAnyFunction("go-micro.dev/v5/config/loader/memory.(*memory).watch"),
		goleak.IgnoreAnyFunction("go-micro.dev/v5/config/loader/memory.(*memory).Watch.func1"),
	)
}

// go-micro v5.30.0's config.Close does not crash as v4.11.0's does (its
// stop goroutine prints the nil error instead of calling its Error
// method): the loader's Close, the source's and conf.Close, the order the
// package documentation gives, end every goroutine go-micro's config ran
// on the source, and the process lives on.
func TestConfigCloseEndsTheConfig(t *testing.T) {
	srv := zktest.Start(t)
	out, err := runCloseChild(t, srv.Addr)
	require.NoError(t, err, "%s", out)
	require.Contains(t, out, "CLOSED")
}

// go-micro v5.30.0's config watcher
// compares each value with the one it started from, never with the last it
// returned (config.(*watcher).Next never updates w.value), so it misses a
// return to that value: a deleted key that was absent when the watch
// began, here a greeting set back. go-micro v4's reports it (the v4
// face's test). Watch again after each change to see every one.
func TestConfigWatchMissesAReturnToItsStart(t *testing.T) {
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/micro-config/greeting", "Hi")
	conf := newConfig(t, newSource(t, WithAddress(srv.Addr)))
	w, err := conf.Watch("greeting")
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Stop() })

	put(t, c, "/micro-config/greeting", "Hej")
	assert.Equal(t, "Hej", nextValue(t, w).String(""))

	// Next waits while Hi and then Yo are written: go-micro's loader hands
	// a watcher its changes through a one-slot channel that drops a change
	// while the previous one is unread, so a watcher must be reading for
	// each to reach it.
	type result struct {
		v   reader.Value
		err error
	}
	next := make(chan result, 1)
	go func() {
		v, err := w.Next()
		next <- result{v, err}
	}()
	put(t, c, "/micro-config/greeting", "Hi")
	// Once the config shows Hi, the loader has handed it to every watcher.
	zktest.Eventually(t, 15*time.Second, func() bool { return configValue(t, conf, "greeting").String("") == "Hi" }, "conf.Get never saw Hi")
	put(t, c, "/micro-config/greeting", "Yo")
	select {
	case r := <-next:
		require.NoError(t, r.err)
		assert.Equal(t, "Yo", r.v.String(""), "the return to Hi was not reported")
	case <-time.After(15 * time.Second):
		_ = w.Stop()
		<-next
		t.Fatal("no value within 15s")
	}
}

// configValue returns the value at path in conf. (go-micro v5's
// config.Get returns an error too; v4's the value alone.)
func configValue(t testing.TB, conf config.Config, path ...string) reader.Value {
	t.Helper()
	v, err := conf.Get(path...)
	require.NoError(t, err, "config.Get%q", path)
	require.NotNil(t, v, "config.Get%q", path)
	return v
}
