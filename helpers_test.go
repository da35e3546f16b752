package zookeeper

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go.uber.org/goleak"
)

// childEnv selects what the test binary does when a test runs it as a
// child process: one of the modes TestMain (main_test.go) gives runTests.
// The engine's tests run their own crashing child
// (internal/engine/crashchild_zk_test.go).
const childEnv = "ZKMICRO_TEST_CHILD"

// runTests is TestMain's body. As a child process (childEnv set) the test
// binary runs that mode of modes and exits with its status; otherwise it
// runs the tests, and fails them if one leaves a goroutine behind (but
// those running before, and those ignore names).
func runTests(m *testing.M, modes map[string]func() int, ignore ...goleak.Option) {
	if mode := os.Getenv(childEnv); mode != "" {
		run, ok := modes[mode]
		if !ok {
			fmt.Println("ERROR unknown child mode", mode)
			os.Exit(2)
		}
		os.Exit(run())
	}
	// Quiet the default logger: registries under test log through it.
	_ = logger.Init(logger.WithLevel(logger.WarnLevel))
	goleak.VerifyTestMain(m, append([]goleak.Option{goleak.IgnoreCurrent()}, ignore...)...)
}

// runService is the child mode "micro": a go-micro service named
// $ZK_SERVICE (newService, main_test.go), configured only by flags and
// environment, which must choose this registry.
func runService() int {
	service := newService(os.Getenv("ZK_SERVICE"), micro.Address("127.0.0.1:0"))
	service.Init()
	if got := service.Options().Registry.String(); got != "zookeeper" {
		fmt.Println("ERROR registry is", got)
		return 1
	}
	if err := service.Run(); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	return 0
}

// child is a test binary running as a child process.
type child struct {
	cmd *exec.Cmd
}

// startChild runs the test binary in mode with env and args. It is
// killed when t ends.
func startChild(t *testing.T, mode string, env []string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &child{cmd: cmd}
}

// newTestRegistry returns a registry closed when t ends.
func newTestRegistry(t testing.TB, addrs []string, opts ...registry.Option) *zkRegistry {
	t.Helper()
	opts = append([]registry.Option{registry.Addrs(addrs...), SessionTimeout(2 * time.Second)}, opts...)
	r := NewRegistry(opts...).(*zkRegistry)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// sessionID returns the id of the registry's session, waiting for one
// (the registry's public Session, not a window on its internals).
func (r *zkRegistry) sessionID(t testing.TB) int64 {
	t.Helper()
	s, err := r.engine.Session(context.Background())
	require.NoError(t, err)
	return s.ID()
}

// rawConn returns a plain zk connection with a session, closed when t ends.
func rawConn(t testing.TB, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	deadline := time.After(30 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-events:
		case <-deadline:
			t.Fatalf("raw connection to %s: no session", addr)
		}
	}
	return c
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// next returns the watcher's next result, failing t after d.
func next(t testing.TB, w registry.Watcher, d time.Duration) *registry.Result {
	t.Helper()
	r, err := nextWithin(w, d)
	require.NoError(t, err)
	return r
}

// nextWithin returns the watcher's next result or an error after d. On
// timeout it leaves the watcher stopped.
func nextWithin(w registry.Watcher, d time.Duration) (*registry.Result, error) {
	type res struct {
		r   *registry.Result
		err error
	}
	ch := make(chan res, 1)
	go func() {
		r, err := w.Next()
		ch <- res{r, err}
	}()
	select {
	case r := <-ch:
		return r.r, r.err
	case <-time.After(d):
		w.Stop()
		<-ch
		return nil, fmt.Errorf("no watch event within %v", d)
	}
}

// svc returns a service with one node per id.
func svc(name, version string, ids ...string) *registry.Service {
	s := &registry.Service{Name: name, Version: version, Metadata: map[string]string{"team": "core"}}
	for i, id := range ids {
		s.Nodes = append(s.Nodes, &registry.Node{Id: id, Address: fmt.Sprintf("127.0.0.1:%d", 10000+i), Metadata: map[string]string{"host": "h" + id}})
	}
	return s
}

// nodeIDs returns the ids of all nodes of services, sorted.
func nodeIDs(svcs []*registry.Service) []string {
	var ids []string
	for _, s := range svcs {
		for _, n := range s.Nodes {
			ids = append(ids, n.Id)
		}
	}
	slices.Sort(ids)
	return ids
}
