package zookeeper

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
	"go-micro.dev/v4"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go.uber.org/goleak"
)

// childEnv selects what the test binary does when a test runs it as a
// child process (a go-micro service binary). The engine's tests run their
// own crashing child (internal/engine/crashchild_zk_test.go).
const childEnv = "ZKMICRO_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	// Quiet the default logger: registries under test log through it.
	_ = logger.Init(logger.WithLevel(logger.WarnLevel))
	// go-micro's config package starts goroutines when it loads (and some
	// a moment later); they are not ours.
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config/loader/memory.(*memory).Watch.func1"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run.func2"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run"),
	)
}

// runChild is the child process's main.
func runChild(mode string) int {
	switch mode {
	case "micro":
		// A go-micro service configured only by flags and environment.
		service := micro.NewService(micro.Name(os.Getenv("ZK_SERVICE")), micro.Address("127.0.0.1:0"))
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
	fmt.Println("ERROR unknown child mode", mode)
	return 2
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

// sessionID returns the id of the registry's current session, 0 if none.
func (r *zkRegistry) sessionID() int64 { return r.engine.SessionID() }

// confirmed reports whether the registry has verified and watched its node
// id of service in the current session.
func (r *zkRegistry) confirmed(service, id string) bool { return r.engine.Confirmed(service, id) }

// registryTimeout returns the timeout r uses for each call.
func registryTimeout(t testing.TB, r *zkRegistry) time.Duration {
	t.Helper()
	cfg, err := r.engine.Config()
	require.NoError(t, err)
	return cfg.Timeout()
}

// escapeSegment is the layout's escaping of a name into a path segment.
var escapeSegment = engine.EscapeSegment

// encodeNode returns the payload the registry stores for node n of s: the
// JSON of s with exactly that node, as the older plugin writes it.
func encodeNode(s *registry.Service, n *registry.Node) ([]byte, error) {
	return json.Marshal(&registry.Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Endpoints: s.Endpoints, Nodes: []*registry.Node{n}})
}

// decodeNode parses a node payload, or says why it is not a registration.
func decodeNode(data []byte) (*registry.Service, error) {
	var s registry.Service
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if s.Name == "" || len(s.Nodes) != 1 || s.Nodes[0] == nil || s.Nodes[0].Id == "" {
		return nil, fmt.Errorf("not a registration: %q", data)
	}
	return &s, nil
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

// noEvent fails t if the watcher has anything to report within d.
func noEvent(t testing.TB, w registry.Watcher, d time.Duration) {
	t.Helper()
	zw := w.(*zkWatcher)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if e, ok := zw.w.TryNext(); ok {
			t.Fatalf("unexpected watch event %s %s/%s", e.Action, e.Service.Name, e.Service.Nodes[0].Id)
		}
		time.Sleep(20 * time.Millisecond)
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

// registerAtOnce has every registry of regs register service(i), all
// released at the same moment, and returns their errors.
func registerAtOnce(regs []*zkRegistry, service func(i int) *registry.Service) []error {
	var wg sync.WaitGroup
	errs := make([]error, len(regs))
	start := make(chan struct{})
	for i, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = r.Register(service(i))
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func mustPayload(t testing.TB, s *registry.Service) []byte {
	t.Helper()
	b, err := encodeNode(s, s.Nodes[0])
	require.NoError(t, err)
	return b
}

// serverZxid returns the server's last zxid, which every write advances.
func serverZxid(t testing.TB, srv *zktest.Server) string {
	t.Helper()
	out, err := zktest.FourLetter(srv.Addr, "srvr")
	require.NoError(t, err)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Zxid: "); ok {
			return v
		}
	}
	t.Fatalf("no zxid in %q", out)
	return ""
}
