package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
	"go.uber.org/goleak"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestMain(m *testing.M) {
	// The environment of whoever runs the tests must reach neither the
	// commands run in-process nor the binary.
	for _, name := range registryEnv {
		_ = os.Unsetenv(name)
	}
	dir, err := os.MkdirTemp("", "zkmicro-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkmicro tests:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "zkmicro")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	err = zktest.BuildProgram(ctx, binary, "", ".")
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkmicro tests:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m,
		// go-micro's packages start goroutines when imported (its config,
		// a cache janitor) that they never stop, and its memory registry a
		// TTL pruner.
		goleak.IgnoreCurrent(),
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

// registryEnv are the environment variables that configure the registry.
var registryEnv = []string{
	"MICRO_REGISTRY", "MICRO_REGISTRY_ADDRESS", "MICRO_REGISTRY_TIMEOUT",
	engine.EnvAuth, engine.EnvSessionTimeout, engine.EnvOpenDirs,
	engine.EnvTLS, engine.EnvTLSCA, engine.EnvTLSCert, engine.EnvTLSKey, engine.EnvTLSServerName,
}

// waitTimeout bounds every wait for a condition: generous, since waits end
// as soon as the condition holds.
const waitTimeout = 10 * time.Second

// testNow is the clock of test apps: lines carry this time.
var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// waitFor waits for cond, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	zktest.Eventually(t, waitTimeout, cond, "waiting for %s", what)
}

// openCall is one call of app.newRegistry.
type openCall struct {
	addrs   []string
	timeout time.Duration
}

// testApp is an app on a registry the test holds, with its output
// captured and its clock fixed at testNow.
type testApp struct {
	app    *app
	reg    registry.Registry
	stdout *zktest.Output
	stderr *zktest.Output

	mu      sync.Mutex // guards opened, openErr
	opened  []openCall
	openErr error
}

// newTestApp is a testApp on a new in-memory registry.
func newTestApp(t *testing.T) *testApp {
	t.Helper()
	return newTestAppOn(t, registry.NewMemoryRegistry())
}

// newTestAppOn is a testApp whose commands use reg.
func newTestAppOn(t *testing.T, reg registry.Registry) *testApp {
	t.Helper()
	ta := &testApp{reg: reg, stdout: &zktest.Output{}, stderr: &zktest.Output{}}
	ta.app = &app{
		newRegistry: func(addrs []string, timeout time.Duration) (registry.Registry, error) {
			ta.mu.Lock()
			defer ta.mu.Unlock()
			ta.opened = append(ta.opened, openCall{addrs: addrs, timeout: timeout})
			if ta.openErr != nil {
				return nil, ta.openErr
			}
			return ta.reg, nil
		},
		stdout: ta.stdout,
		stderr: ta.stderr,
		now:    func() time.Time { return testNow },
	}
	return ta
}

// openCalls is every call of newRegistry so far.
func (ta *testApp) openCalls() []openCall {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return append([]openCall(nil), ta.opened...)
}

// run runs `zkmicro args...` to its end and returns the exit code.
func (ta *testApp) run(t *testing.T, args ...string) int {
	t.Helper()
	return ta.app.run(t.Context(), append([]string{"zkmicro"}, args...))
}

// running is a command started by testApp.start.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the command has returned
	code   int           // its exit code, once done is closed
}

// start runs `zkmicro args...` in a goroutine until stop (or the end of
// the test) interrupts it.
func (ta *testApp) start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.code = ta.app.run(ctx, append([]string{"zkmicro"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// stop interrupts the command, as SIGINT does, and returns its exit code.
func (r *running) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// wait waits for the command to end by itself and returns its exit code.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(waitTimeout):
		t.Fatalf("the command did not return within %s", waitTimeout)
		return -1
	}
}

// nodeIDs is the sorted ids of the nodes of service name in reg, of every
// version; nil if there are none.
func nodeIDs(t *testing.T, reg registry.Registry, name string) []string {
	t.Helper()
	svcs, err := reg.GetService(name)
	if errors.Is(err, registry.ErrNotFound) {
		return nil
	}
	require.NoError(t, err)
	var ids []string
	for _, svc := range svcs {
		for _, n := range svc.Nodes {
			ids = append(ids, n.Id)
		}
	}
	sort.Strings(ids)
	return ids
}

// waitForNodes waits until service name has exactly the nodes want (none
// when want is nil).
func waitForNodes(t *testing.T, reg registry.Registry, name string, want ...string) {
	t.Helper()
	waitFor(t, "nodes "+strings.Join(want, ",")+" of "+name, func() bool {
		got := nodeIDs(t, reg, name)
		return strings.Join(got, ",") == strings.Join(want, ",")
	})
}

// register registers a service with one node in reg.
func register(t *testing.T, reg registry.Registry, name, version, id, address string, md map[string]string) {
	t.Helper()
	require.NoError(t, reg.Register(&registry.Service{
		Name:    name,
		Version: version,
		Nodes:   []*registry.Node{{Id: id, Address: address, Metadata: md}},
	}))
}

// stubRegistry is a registry whose calls can be made to fail or watched
// through a scripted watcher; the rest goes to the registry it embeds.
type stubRegistry struct {
	registry.Registry

	mu            sync.Mutex // guards the fields below
	listErr       error
	registerErr   func() error // called by each Register; nil: no error
	deregisterErr error
	watcher       registry.Watcher // returned by Watch when set
	watchErr      error
	watchOpts     []registry.WatchOptions
	closeErr      error
	closed        int
}

var _ io.Closer = (*stubRegistry)(nil)

func (s *stubRegistry) ListServices(opts ...registry.ListOption) ([]*registry.Service, error) {
	s.mu.Lock()
	err := s.listErr
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.Registry.ListServices(opts...)
}

func (s *stubRegistry) Register(svc *registry.Service, opts ...registry.RegisterOption) error {
	s.mu.Lock()
	fail := s.registerErr
	s.mu.Unlock()
	if fail != nil {
		if err := fail(); err != nil {
			return err
		}
	}
	return s.Registry.Register(svc, opts...)
}

func (s *stubRegistry) Deregister(svc *registry.Service, opts ...registry.DeregisterOption) error {
	s.mu.Lock()
	err := s.deregisterErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Registry.Deregister(svc, opts...)
}

func (s *stubRegistry) Watch(opts ...registry.WatchOption) (registry.Watcher, error) {
	var o registry.WatchOptions
	for _, opt := range opts {
		opt(&o)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchOpts = append(s.watchOpts, o)
	if s.watchErr != nil {
		return nil, s.watchErr
	}
	if s.watcher != nil {
		return s.watcher, nil
	}
	return s.Registry.Watch(opts...)
}

func (s *stubRegistry) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
	return s.closeErr
}

// set changes the stub's fields under its lock.
func (s *stubRegistry) set(change func(s *stubRegistry)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s)
}

func TestNewRegistryIsZooKeeperAndDoesNotDial(t *testing.T) {
	reg, err := newRegistry([]string{"127.0.0.1:1", "127.0.0.1:2/apps/prod"}, time.Second, registryLogger{logf: t.Logf})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.(io.Closer).Close()) })

	require.Equal(t, "zookeeper", reg.String())
	require.Equal(t, time.Second, reg.Options().Timeout)
	eng, err := engineOf(reg)
	require.NoError(t, err)
	cfg, err := eng.Config()
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:1", "127.0.0.1:2"}, cfg.Servers())
	assert.Equal(t, "/apps/prod/micro-registry", cfg.Root())
}

func TestNewRegistryNamesTheAddressOfABadOption(t *testing.T) {
	_, err := newRegistry([]string{"zk1:2181", "zk2:port"}, time.Second, registryLogger{logf: t.Logf})
	require.EqualError(t, err, `registry at zk1:2181,zk2:port: zookeeper: address "zk2:port" has no valid port`)
}
