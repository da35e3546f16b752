package zookeeper

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v5/registry"
)

// child is a process a test started: the test binary in a child mode, or
// a program built for the test. Its output lines arrive on lines.
type child struct {
	cmd   *exec.Cmd
	lines chan string
}

// startProcess starts cmd, collecting its standard output line by line,
// and kills it when t ends.
func startProcess(t *testing.T, cmd *exec.Cmd) *child {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cmd.Stderr == nil {
		cmd.Stderr = io.Discard
	}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, lines: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // closes the pipe, so the reader ends even if a grandchild holds it
		<-done
	})
	return c
}

// startChild runs the test binary in mode with env and args.
func startChild(t *testing.T, mode string, env []string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	return startProcess(t, cmd)
}

// waitLine returns the first line of c's output that match accepts,
// failing t after d; lines before it are dropped.
func (c *child) waitLine(t *testing.T, d time.Duration, match func(string) bool) string {
	t.Helper()
	return c.waitLines(t, d, match)[0]
}

// waitLines reads c's output until each matcher accepted a line, in any
// order, and returns those lines in the matchers' order, failing t after d
// with the last lines read. Lines no matcher wants are dropped.
func (c *child) waitLines(t *testing.T, d time.Duration, matchers ...func(string) bool) []string {
	t.Helper()
	got := make([]string, len(matchers))
	left := len(matchers)
	var skipped []string
	deadline := time.After(d)
	for left > 0 {
		select {
		case line := <-c.lines:
			matched := false
			for i, m := range matchers {
				if got[i] == "" && m(line) {
					got[i], matched = line, true
					left--
					break
				}
			}
			if !matched {
				skipped = append(skipped[max(0, len(skipped)-19):], line)
			}
		case <-deadline:
			t.Fatalf("%s: %d expected line(s) missing after %v; last lines:\n%s",
				c.cmd.Path, left, d, strings.Join(skipped, "\n"))
		}
	}
	return got
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
