package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

// fakeNode is the registry and the server a sidecar under test sees: a
// node that is registered or not, calls that can be made to fail, and a
// server whose health the test sets.
type fakeNode struct {
	down atomic.Bool // the check fails with errRefused

	mu            sync.Mutex // guards the fields below
	registered    bool
	registers     int
	registerErr   error
	deregisterErr error
	logs          []string
	clock         time.Time     // the sidecar's clock: moves only when a call takes time
	callTakes     time.Duration // how far each Register and Deregister moves the clock
}

var errRefused = errors.New("connection refused")

// sidecar is a sidecar of n checking every millisecond.
func (n *fakeNode) sidecar(maxFailures int) *sidecar {
	return &sidecar{
		register: func(context.Context) error {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.clock = n.clock.Add(n.callTakes)
			n.registers++
			if n.registerErr != nil {
				return n.registerErr
			}
			n.registered = true
			return nil
		},
		deregister: func(context.Context) error {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.clock = n.clock.Add(n.callTakes)
			if n.deregisterErr != nil {
				return n.deregisterErr
			}
			n.registered = false
			return nil
		},
		check: func(context.Context) error {
			if n.down.Load() {
				return errRefused
			}
			return nil
		},
		checkInterval:    time.Millisecond,
		checkTimeout:     time.Second,
		maxFailures:      maxFailures,
		registerInterval: time.Hour,
		stopTimeout:      time.Second,
		logf: func(format string, args ...any) {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.logs = append(n.logs, fmt.Sprintf(format, args...))
		},
		now: func() time.Time {
			n.mu.Lock()
			defer n.mu.Unlock()
			return n.clock
		},
	}
}

func (n *fakeNode) set(change func(n *fakeNode)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	change(n)
}

func (n *fakeNode) isRegistered() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.registered
}

func (n *fakeNode) logLines() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.logs)
}

// waitForLog waits until the sidecar has logged line.
func (n *fakeNode) waitForLog(t *testing.T, line string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("log %q", line), func() bool { return slices.Contains(n.logLines(), line) })
}

// runSidecar runs s until the returned stop is called, which returns once
// run has.
func runSidecar(t *testing.T, s *sidecar) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(waitTimeout):
				t.Errorf("the sidecar did not stop within %s", waitTimeout)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestSidecarFollowsTheServersHealth(t *testing.T) {
	n := &fakeNode{}
	n.down.Store(true)
	stop := runSidecar(t, n.sidecar(3))

	n.waitForLog(t, "unhealthy (connection refused): not registered")
	require.False(t, n.isRegistered())

	n.down.Store(false)
	n.waitForLog(t, "healthy: registered")
	require.True(t, n.isRegistered())

	n.down.Store(true)
	n.waitForLog(t, "unhealthy (3 consecutive failures: connection refused): deregistered")
	require.False(t, n.isRegistered())

	n.down.Store(false)
	waitFor(t, "registered again", n.isRegistered)

	stop()
	require.False(t, n.isRegistered())
	require.Equal(t, []string{
		"unhealthy (connection refused): not registered",
		"healthy: registered",
		"check failed (1 of 3): connection refused",
		"check failed (2 of 3): connection refused",
		"unhealthy (3 consecutive failures: connection refused): deregistered",
		"healthy: registered",
		"stopped: deregistered",
	}, n.logLines(), "every transition, once")
}

func TestSidecarDeregistersAtTheFirstFailureWithOneAllowed(t *testing.T) {
	n := &fakeNode{}
	stop := runSidecar(t, n.sidecar(1))
	n.waitForLog(t, "healthy: registered")

	n.down.Store(true)
	n.waitForLog(t, "unhealthy (1 failure: connection refused): deregistered")

	stop()
	require.Equal(t, "stopped: not registered", n.logLines()[len(n.logLines())-1])
}

func TestSidecarAFailureShortOfTheLimitKeepsTheNode(t *testing.T) {
	n := &fakeNode{}
	s := n.sidecar(3)
	s.checkInterval = time.Hour // probes only when the test says
	ctx := t.Context()

	s.probe(ctx)
	require.True(t, n.isRegistered())
	n.down.Store(true)
	s.probe(ctx)
	s.probe(ctx)
	require.True(t, n.isRegistered(), "two failures of three")
	n.down.Store(false)
	s.probe(ctx)
	n.down.Store(true)
	s.probe(ctx)
	s.probe(ctx)
	require.True(t, n.isRegistered(), "a pass starts the count again")
	s.probe(ctx)
	require.False(t, n.isRegistered())
	require.Equal(t, []string{
		"healthy: registered",
		"check failed (1 of 3): connection refused",
		"check failed (2 of 3): connection refused",
		"check failed (1 of 3): connection refused",
		"check failed (2 of 3): connection refused",
		"unhealthy (3 consecutive failures: connection refused): deregistered",
	}, n.logLines())
}

func TestSidecarRetriesAFailedRegistration(t *testing.T) {
	// Each Register blocks until the registry gives up (its timeout), far
	// longer than the check interval (1ms).
	n := &fakeNode{registerErr: errors.New("zookeeper: register: not connected"), callTakes: 5 * time.Second}
	stop := runSidecar(t, n.sidecar(3))

	waitFor(t, "two attempts", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.registers >= 2
	})
	n.set(func(n *fakeNode) { n.registerErr = nil })
	n.waitForLog(t, "healthy: registered")

	stop()
	logs := n.logLines()
	assert.Equal(t, "healthy: register failed after 5s, retrying at the next check: zookeeper: register: not connected", logs[0],
		"what happened: not a retry in 1ms")
	assert.Equal(t, []string{"healthy: registered", "stopped: deregistered"}, logs[len(logs)-2:])
}

func TestSidecarRetriesAFailedDeregistration(t *testing.T) {
	n := &fakeNode{}
	stop := runSidecar(t, n.sidecar(1))
	n.waitForLog(t, "healthy: registered")

	n.set(func(n *fakeNode) {
		n.deregisterErr = errors.New("zookeeper: deregister: not connected")
		n.callTakes = 2500 * time.Millisecond
	})
	n.down.Store(true)
	n.waitForLog(t, "unhealthy (1 failure: connection refused): deregister failed after 2.5s, retrying at the next check: zookeeper: deregister: not connected")
	require.True(t, n.isRegistered())
	n.set(func(n *fakeNode) { n.deregisterErr = nil })
	waitFor(t, "the node deregistered", func() bool { return !n.isRegistered() })

	stop()
	assert.Contains(t, n.logLines(), "stopped: not registered")
}

func TestSidecarWithoutACheckRegistersUntilStopped(t *testing.T) {
	n := &fakeNode{}
	s := n.sidecar(3)
	s.check = nil
	stop := runSidecar(t, s)

	n.waitForLog(t, "registered")
	stop()

	require.Equal(t, []string{"registered", "stopped: deregistered"}, n.logLines())
}

func TestSidecarRegistersAgainWhileHealthy(t *testing.T) {
	n := &fakeNode{}
	s := n.sidecar(3)
	s.checkInterval = time.Hour
	s.registerInterval = time.Millisecond
	stop := runSidecar(t, s)
	n.waitForLog(t, "healthy: registered")

	n.set(func(n *fakeNode) { n.registered = false }) // someone removed it
	waitFor(t, "the node back", n.isRegistered)

	stop()
	require.Equal(t, []string{"healthy: registered", "stopped: deregistered"}, n.logLines(),
		"a refresh of a registered node is silent")
}

func TestSidecarLogsAFailedFinalDeregistration(t *testing.T) {
	n := &fakeNode{}
	stop := runSidecar(t, n.sidecar(3))
	n.waitForLog(t, "healthy: registered")
	n.set(func(n *fakeNode) {
		n.deregisterErr = errors.New("zookeeper: deregister: context deadline exceeded")
		n.callTakes = 5 * time.Second // the registry's timeout
	})

	stop()

	logs := n.logLines()
	require.Equal(t, "stopped: deregister failed after 5s: zookeeper: deregister: context deadline exceeded; ZooKeeper deletes the node when the session expires",
		logs[len(logs)-1])
}

func TestSidecarStopsDuringAHangingCheck(t *testing.T) {
	n := &fakeNode{}
	s := n.sidecar(3)
	started := make(chan struct{})
	var once sync.Once
	s.check = func(ctx context.Context) error {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return ctx.Err()
	}
	s.checkTimeout = time.Hour
	stop := runSidecar(t, s)
	<-started

	stop()
	require.Equal(t, []string{"stopped: not registered"}, n.logLines())
}

// The commands below run the whole sidecar against real servers and the
// in-memory registry. They assert what the registry shows, waiting for it;
// the exact log of each transition is asserted above, with a check that
// answers at once.

// e2eCheckInterval is --check_interval, and so the check timeout, of the
// tests against real servers: short, yet long enough for a loopback check
// on a busy machine.
const e2eCheckInterval = "50ms"

func TestRegisterFollowsATCPServerThatGoesDownAndComesBack(t *testing.T) {
	srv := startTCPServer(t, "127.0.0.1:0")
	address := srv.addr()
	ta := newTestApp(t)

	r := ta.start(t, "register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100",
		"--check", "tcp://"+address, "--check_interval", e2eCheckInterval, "--check_failures", "2")
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	srv.stop()
	waitForNodes(t, ta.reg, "greeter")

	startTCPServer(t, address)
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	require.Equal(t, exitOK, r.stop(t), "stderr:\n%s", ta.stderr.String())
	require.Empty(t, nodeIDs(t, ta.reg, "greeter"))
	// The exact sequence is TestSidecarFollowsTheServersHealth's; here a
	// check slowed down by a busy machine may add a failure.
	const prefix = "2026-11-27T10:00:00.000Z zkmicro: greeter-1 "
	logs := ta.stderr.Lines()
	assert.Equal(t, prefix+"healthy: registered", logs[0])
	assert.Equal(t, prefix+"stopped: deregistered", logs[len(logs)-1])
	assert.Regexp(t, `\n`+prefix+`unhealthy \(2 consecutive failures: .+\): deregistered\n`, ta.stderr.String(),
		"the reason is the last failure: connection refused, or a check slowed down by a busy machine")
}

func TestRegisterFollowsAnHTTPServersStatus(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	ta := newTestApp(t)

	r := ta.start(t, "register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100",
		"--check", srv.URL+"/health", "--check_interval", e2eCheckInterval, "--check_failures", "3")
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	status.Store(http.StatusServiceUnavailable)
	waitForNodes(t, ta.reg, "greeter")
	status.Store(http.StatusNoContent)
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	require.Equal(t, exitOK, r.stop(t), "stderr:\n%s", ta.stderr.String())
	require.Empty(t, nodeIDs(t, ta.reg, "greeter"))
	assert.Regexp(t, `greeter-1 unhealthy \(3 consecutive failures: .+\): deregistered\n`, ta.stderr.String(),
		"the reason is the last failure: usually the 503, or a check slowed down by a busy machine")
}

func TestRegisterWaitsForAServerThatIsNotUpYet(t *testing.T) {
	srv := startTCPServer(t, "127.0.0.1:0")
	address := srv.addr()
	srv.stop()
	ta := newTestApp(t)

	r := ta.start(t, "register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100",
		"--check", "tcp://"+address, "--check_interval", e2eCheckInterval)
	waitFor(t, "the first check", func() bool { return len(ta.stderr.Lines()) > 0 })
	require.Empty(t, nodeIDs(t, ta.reg, "greeter"))

	startTCPServer(t, address)
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	require.Equal(t, exitOK, r.stop(t))
	const prefix = "2026-11-27T10:00:00.000Z zkmicro: greeter-1 "
	logs := ta.stderr.Lines()
	require.GreaterOrEqual(t, len(logs), 3, "stderr:\n%s", ta.stderr.String())
	assert.Regexp(t, `^`+prefix+`unhealthy \(.+\): not registered$`, logs[0])
	assert.Equal(t, prefix+"healthy: registered", logs[1])
	assert.Equal(t, prefix+"stopped: deregistered", logs[len(logs)-1])
}

func TestRegisterRestoresANodeSomeoneRemoved(t *testing.T) {
	ta := newTestApp(t)
	r := ta.start(t, "register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100",
		"--register_interval", "10ms")
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	// Only the test and the sidecar change the registry: a node present
	// after this Deregister was registered again.
	require.NoError(t, ta.reg.Deregister(&registry.Service{
		Name: "greeter", Version: "latest", Nodes: []*registry.Node{{Id: "greeter-1"}},
	}))
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	require.Equal(t, exitOK, r.stop(t))
}

func TestRegisteredNodeIsSelectedByGoMicroClients(t *testing.T) {
	ta := newTestApp(t)
	r := ta.start(t, "register", "--name", "greeter", "--address", "10.0.0.7:4100")
	waitFor(t, "a node", func() bool { return len(nodeIDs(t, ta.reg, "greeter")) == 1 })

	sel := selector.NewSelector(selector.Registry(ta.reg))
	t.Cleanup(func() { _ = sel.Close() })
	next, err := sel.Select("greeter")
	require.NoError(t, err)
	node, err := next()
	require.NoError(t, err)

	assert.Equal(t, "10.0.0.7:4100", node.Address)
	assert.True(t, strings.HasPrefix(node.Id, "greeter-"), node.Id)
	require.Equal(t, exitOK, r.stop(t))
}

func TestRegisterStoppedWhileTheFinalDeregistrationFailsExitsZero(t *testing.T) {
	stub := &stubRegistry{Registry: registry.NewMemoryRegistry()}
	ta := newTestAppOn(t, stub)
	r := ta.start(t, "register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100")
	waitForNodes(t, stub, "greeter", "greeter-1")
	stub.set(func(s *stubRegistry) { s.deregisterErr = errors.New("zookeeper: deregister: not connected") })

	require.Equal(t, exitOK, r.stop(t), "the sidecar stopped as asked")

	lines := ta.stderr.Lines()
	require.Equal(t, "2026-11-27T10:00:00.000Z zkmicro: greeter-1 stopped: deregister failed after 0s: zookeeper: deregister: not connected; ZooKeeper deletes the node when the session expires",
		lines[len(lines)-1])
	require.Equal(t, 1, stub.closed, "the registry is closed even so")
}

func TestRegisterRetriesARegistryThatFails(t *testing.T) {
	var failures atomic.Int32
	stub := &stubRegistry{Registry: registry.NewMemoryRegistry()}
	stub.registerErr = func() error {
		if failures.Add(1) <= 2 {
			return errors.New("zookeeper: register: not connected")
		}
		return nil
	}
	ta := newTestAppOn(t, stub)

	r := ta.start(t, "register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100", "--check_interval", "10ms")
	waitForNodes(t, stub, "greeter", "greeter-1")

	require.Equal(t, exitOK, r.stop(t))
	require.Equal(t, []string{
		"2026-11-27T10:00:00.000Z zkmicro: greeter-1 register failed after 0s, retrying at the next check: zookeeper: register: not connected",
		"2026-11-27T10:00:00.000Z zkmicro: greeter-1 register failed after 0s, retrying at the next check: zookeeper: register: not connected",
		"2026-11-27T10:00:00.000Z zkmicro: greeter-1 registered",
		"2026-11-27T10:00:00.000Z zkmicro: greeter-1 stopped: deregistered",
	}, ta.stderr.Lines())
}

// brokenPipe is a stderr whose reader has gone.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, syscall.EPIPE }

func TestRegisterKeepsRunningWhenItsLogCannotBeWritten(t *testing.T) {
	ta := newTestApp(t)
	ta.app.stderr = brokenPipe{}
	var survives atomic.Bool
	ta.app.surviveClosedOutput = func() { survives.Store(true) }

	r := ta.start(t, "register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100")
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	require.True(t, survives.Load(), "the sidecar asks to survive a closed stderr before it starts")
	require.Equal(t, exitOK, r.stop(t))
	require.Empty(t, nodeIDs(t, ta.reg, "greeter"))

	survives.Store(false)
	require.Equal(t, exitOK, ta.run(t, "services"))
	require.False(t, survives.Load(), "other commands end with their reader")
}

// loadSource is a server's load as a sidecar under test reads it, and
// the loads it published.
type loadSource struct {
	mu        sync.Mutex // guards the fields below
	load      float64
	err       error
	published []string
}

func (l *loadSource) set(load float64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.load, l.err = load, err
}

func (l *loadSource) publishedLoads() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.published)
}

// withLoad makes s read its load from l every millisecond and publish it
// to l.
func (l *loadSource) withLoad(s *sidecar) *sidecar {
	s.loadInterval = time.Millisecond
	s.readLoad = func() (float64, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.load, l.err
	}
	s.publishLoad = func(_ context.Context, load string) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.published = append(l.published, load)
		return nil
	}
	return s
}

func TestSidecarPublishesTheLoadWhileRegisteredWhenItChangesEnough(t *testing.T) {
	n := &fakeNode{}
	n.down.Store(true)
	l := &loadSource{load: 3}
	runSidecar(t, l.withLoad(n.sidecar(1)))
	n.waitForLog(t, "unhealthy (connection refused): not registered")

	n.down.Store(false)
	waitFor(t, "the load published once registered", func() bool { return slices.Equal(l.publishedLoads(), []string{"3"}) })
	l.set(3.2, nil) // too small a change
	l.set(10, nil)
	waitFor(t, "the new load", func() bool { return slices.Equal(l.publishedLoads(), []string{"3", "10"}) })

	l.set(0, errors.New("load: no such file"))
	n.waitForLog(t, "reading the load failed, the last load published stays: load: no such file")
	l.set(0, nil)
	n.waitForLog(t, "load 0 published")

	// Deregistered: nothing published; registered again: the load is
	// published again, unchanged as it is.
	n.down.Store(true)
	waitFor(t, "deregistered", func() bool { return !n.isRegistered() })
	l.set(7, nil)
	published := len(l.publishedLoads())
	n.down.Store(false)
	waitFor(t, "the load published on the new registration", func() bool {
		got := l.publishedLoads()
		return len(got) > published && got[len(got)-1] == "7"
	})
	assert.Equal(t, 1, strings.Count(strings.Join(n.logLines(), "\n"), "reading the load failed"), "a failure is logged once")
}
