package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
)

// scriptedWatcher is a registry.Watcher that returns what the test sends.
type scriptedWatcher struct {
	results  chan *registry.Result
	errs     chan error
	stopOnce sync.Once
	stopped  chan struct{}
}

func newScriptedWatcher() *scriptedWatcher {
	return &scriptedWatcher{
		results: make(chan *registry.Result),
		errs:    make(chan error),
		stopped: make(chan struct{}),
	}
}

func (w *scriptedWatcher) Next() (*registry.Result, error) {
	select {
	case r := <-w.results:
		return r, nil
	case err := <-w.errs:
		return nil, err
	case <-w.stopped:
		return nil, registry.ErrWatcherStopped
	}
}

func (w *scriptedWatcher) Stop() { w.stopOnce.Do(func() { close(w.stopped) }) }

// send hands r to the next Next.
func (w *scriptedWatcher) send(t *testing.T, r *registry.Result) {
	t.Helper()
	select {
	case w.results <- r:
	case <-time.After(waitTimeout):
		t.Fatal("nobody called Next")
	}
}

func result(action, name, version, id, address string) *registry.Result {
	return &registry.Result{Action: action, Service: &registry.Service{
		Name: name, Version: version,
		Nodes: []*registry.Node{{Id: id, Address: address}},
	}}
}

func TestWatchPrintsALinePerChangeUntilInterrupted(t *testing.T) {
	w := newScriptedWatcher()
	stub := &stubRegistry{Registry: registry.NewMemoryRegistry(), watcher: w}
	ta := newTestAppOn(t, stub)

	r := ta.start(t, "watch")
	w.send(t, result("create", "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100"))
	w.send(t, result("update", "greeter", "1.0.0", "greeter-1", "10.0.0.7:4101"))
	w.send(t, result("delete", "greeter", "1.0.0", "greeter-1", "10.0.0.7:4101"))
	waitFor(t, "three lines", func() bool { return len(ta.stdout.Lines()) == 3 })

	require.Equal(t, exitOK, r.stop(t), "stderr:\n%s", ta.stderr.String())
	require.Equal(t, ""+
		"2026-11-27T10:00:00.000Z create greeter 1.0.0 greeter-1 10.0.0.7:4100\n"+
		"2026-11-27T10:00:00.000Z update greeter 1.0.0 greeter-1 10.0.0.7:4101\n"+
		"2026-11-27T10:00:00.000Z delete greeter 1.0.0 greeter-1 10.0.0.7:4101\n",
		ta.stdout.String())
	require.Equal(t, "2026-11-27T10:00:00.000Z zkmicro: watching every service\n", ta.stderr.String(),
		"once the watcher is in place, for scripts to wait on")
	require.Equal(t, 1, stub.closed)
}

func TestWatchServiceWatchesOnlyThatService(t *testing.T) {
	w := newScriptedWatcher()
	stub := &stubRegistry{Registry: registry.NewMemoryRegistry(), watcher: w}
	ta := newTestAppOn(t, stub)

	r := ta.start(t, "watch", "greeter")
	w.send(t, result("create", "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100"))
	waitFor(t, "a line", func() bool { return len(ta.stdout.Lines()) == 1 })
	require.Equal(t, exitOK, r.stop(t))

	require.Equal(t, "2026-11-27T10:00:00.000Z zkmicro: watching greeter\n", ta.stderr.String())
	stub.mu.Lock()
	defer stub.mu.Unlock()
	require.Len(t, stub.watchOpts, 1)
	assert.Equal(t, "greeter", stub.watchOpts[0].Service)
	assert.NotNil(t, stub.watchOpts[0].Context, "the watch is cancelled with the command")
}

func TestWatchOfEveryServiceNamesNone(t *testing.T) {
	w := newScriptedWatcher()
	stub := &stubRegistry{Registry: registry.NewMemoryRegistry(), watcher: w}
	ta := newTestAppOn(t, stub)

	r := ta.start(t, "watch")
	w.send(t, result("create", "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100"))
	require.Equal(t, exitOK, r.stop(t))

	stub.mu.Lock()
	defer stub.mu.Unlock()
	require.Len(t, stub.watchOpts, 1)
	assert.Empty(t, stub.watchOpts[0].Service)
}

func TestWatcherErrorExitsOne(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     error
		wantErr string
	}{
		{"failure", errors.New("zookeeper: watch: session expired"), "zkmicro: watch: zookeeper: watch: session expired\n"},
		{"stopped by someone else", registry.ErrWatcherStopped, "zkmicro: watch: watcher stopped\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newScriptedWatcher()
			ta := newTestAppOn(t, &stubRegistry{Registry: registry.NewMemoryRegistry(), watcher: w})

			r := ta.start(t, "watch")
			select {
			case w.errs <- tt.err:
			case <-time.After(waitTimeout):
				t.Fatal("nobody called Next")
			}

			require.Equal(t, exitError, r.wait(t))
			require.Equal(t, "2026-11-27T10:00:00.000Z zkmicro: watching every service\n"+tt.wantErr, ta.stderr.String())
		})
	}
}

func TestWatchThatCannotStartExitsOne(t *testing.T) {
	ta := newTestAppOn(t, &stubRegistry{Registry: registry.NewMemoryRegistry(), watchErr: errors.New("zookeeper: watch: not connected")})

	require.Equal(t, exitError, ta.run(t, "watch"))

	require.Equal(t, "zkmicro: watch: zookeeper: watch: not connected\n", ta.stderr.String())
}

func TestWatchOfTheMemoryRegistry(t *testing.T) {
	ta := newTestApp(t)
	r := ta.start(t, "watch", "greeter")

	// go-micro's memory registry drops an event its watcher does not take
	// within 10ms, and the watch may not have started yet: register new
	// nodes until one is seen.
	i := 0
	waitFor(t, "a line", func() bool {
		if len(ta.stdout.Lines()) > 0 {
			return true
		}
		i++
		register(t, ta.reg, "other", "1.0.0", fmt.Sprintf("other-%d", i), "10.0.0.6:4100", nil)
		register(t, ta.reg, "greeter", "1.0.0", fmt.Sprintf("greeter-%d", i), "10.0.0.7:4100", nil)
		return false
	})

	require.Equal(t, exitOK, r.stop(t), "stderr:\n%s", ta.stderr.String())
	line := regexp.MustCompile(`^2026-11-27T10:00:00\.000Z update greeter 1\.0\.0 greeter-\d+ 10\.0\.0\.7:4100$`)
	for _, l := range ta.stdout.Lines() {
		assert.Regexp(t, line, l, "only greeter, as go-micro's memory registry reports it")
	}
}

func TestWriteWatchResult(t *testing.T) {
	at := time.Date(2026, 11, 27, 11, 0, 0, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		res  *registry.Result
		want string
	}{
		{name: "one node", res: result("create", "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100"),
			want: "2026-11-27T10:00:00.123Z create greeter 1.0.0 greeter-1 10.0.0.7:4100\n"},
		{name: "two nodes", res: &registry.Result{Action: "update", Service: &registry.Service{Name: "greeter", Version: "1.0.0",
			Nodes: []*registry.Node{{Id: "greeter-1", Address: "a:1"}, nil, {Id: "greeter-2", Address: "b:2"}}}},
			want: "" +
				"2026-11-27T10:00:00.123Z update greeter 1.0.0 greeter-1 a:1\n" +
				"2026-11-27T10:00:00.123Z update greeter 1.0.0 - -\n" +
				"2026-11-27T10:00:00.123Z update greeter 1.0.0 greeter-2 b:2\n"},
		{name: "no node, no version", res: &registry.Result{Action: "delete", Service: &registry.Service{Name: "greeter"}},
			want: "2026-11-27T10:00:00.123Z delete greeter - - -\n"},
		{name: "no service", res: &registry.Result{Action: "delete"},
			want: "2026-11-27T10:00:00.123Z delete - - - -\n"},
		{name: "nothing", res: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, writeWatchResult(&buf, at, tt.res))
			require.Equal(t, tt.want, buf.String())
			for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
				if l != "" {
					require.Len(t, strings.Fields(l), 6, "six fields: %q", l)
				}
			}
		})
	}
}
