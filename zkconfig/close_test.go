package zkconfig

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config"
)

// How a go-micro config stops, on each go-micro line: main_test.go's
// TestConfigClose* runs closeChild in a child process, since on one of the
// lines config.Close takes the process down.

// closeChildEnv, set to a ZooKeeper address, makes the test binary run
// closeChild instead of its tests (see TestMain).
const closeChildEnv = "ZKCONFIG_TEST_CLOSE_CHILD"

// configGoroutines are the functions of the goroutines go-micro's config
// runs on a source: the config's loop and the stop goroutine it starts per
// loader watcher, the loader's watch of each source and the goroutine it
// starts per watcher.
var configGoroutines = []string{
	"go-micro.dev/v4/config.(*config).run",
	"go-micro.dev/v4/config/loader/memory.(*memory).watch",
	"go-micro.dev/v4/config/loader/memory.(*memory).Watch.func1",
}

// closeChild is the main of a child process: it loads a go-micro config
// from a source on addr, watches a key, then stops it all as the package
// documentation says to where conf.Close works (the config's loader, the
// source, then conf.Close), and waits for the goroutines
// go-micro ran for it to end (those of go-micro's default config, started
// when its package loaded, stay). It prints CLOSED and returns 0 when none
// is left.
func closeChild(addr string) int {
	before := configGoroutinesRunning(nil)
	src := NewSource(WithAddress(addr))
	conf, err := config.NewConfig(config.WithSource(src))
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	w, err := conf.Watch("greeting")
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	_ = w.Stop()
	if len(configGoroutinesRunning(before)) == 0 {
		fmt.Println("ERROR no goroutine of the config found")
		return 1
	}
	// The loader watches the source from a goroutine of its own: wait for
	// it to be in place (were the source closed before, the loader would
	// retry its Watch every second for ever).
	deadline := time.Now().Add(30 * time.Second)
	for !sourceWatched() {
		if time.Now().After(deadline) {
			fmt.Println("ERROR the config's loader never watched the source")
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("CLOSING")
	_ = conf.Options().Loader.Close()
	_ = src.(io.Closer).Close()
	_ = conf.Close()
	deadline = time.Now().Add(30 * time.Second) // each loop sleeps a second as it ends
	for {
		left := configGoroutinesRunning(before)
		if len(left) == 0 {
			fmt.Println("CLOSED")
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Println("ERROR go-micro's config goroutines are left:\n" + strings.Join(slices.Collect(maps.Values(left)), "\n\n"))
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// configGoroutinesRunning returns the stacks of the goroutines running one
// of configGoroutines, by goroutine id, but those in except.
func configGoroutinesRunning(except map[string]string) map[string]string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	running := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		id, _, _ := strings.Cut(g, " [") // "goroutine 7"
		if _, ok := except[id]; ok {
			continue
		}
		for _, f := range configGoroutines {
			if strings.Contains(g, f+"(") {
				running[id] = g
				break
			}
		}
	}
	return running
}

// sourceWatched reports whether a goroutine waits in the Next of a
// watcher of this package's source.
func sourceWatched() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), ".(*zkWatcher).Next(")
}

// runCloseChild runs closeChild against the ZooKeeper server at addr and
// returns what it printed and how it ended.
func runCloseChild(t *testing.T, addr string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), closeChildEnv+"="+addr)
	out, err := cmd.CombinedOutput()
	require.Contains(t, string(out), "CLOSING", "the child got as far as config.Close: %s", out)
	return string(out), err
}
