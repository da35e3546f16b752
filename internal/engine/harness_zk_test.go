package engine

// The harness of the integration tests against real ZooKeeper (the
// *_zk_test.go files): registries under test, the services they register,
// a plain zk connection to look at ZooKeeper behind their back, fault
// proxies, a log recorder, and bounded waits on watchers and calls.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// testSessionTimeout is the session timeout of a test registry unless its
// settings say otherwise.
const testSessionTimeout = 2 * time.Second

// testTimeout is the Timeout of a test registry unless o sets another:
// generous, for a busy machine (no test measures speed with it).
const testTimeout = 20 * time.Second

// newTestRegistry returns a registry for o, closed when t ends. Its
// session timeout is testSessionTimeout unless o's settings set another,
// its Timeout testTimeout unless o sets one.
func newTestRegistry(t testing.TB, o Options) *Registry {
	t.Helper()
	o.Settings = append([]Option{SessionTimeout(testSessionTimeout)}, o.Settings...)
	if o.Timeout == 0 {
		o.Timeout = testTimeout
	}
	r := NewRegistry(o)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// svc returns a service with one node per id.
func svc(name, version string, ids ...string) *Service {
	s := &Service{Name: name, Version: version, Metadata: map[string]string{"team": "core"}}
	for i, id := range ids {
		s.Nodes = append(s.Nodes, &Node{Id: id, Address: fmt.Sprintf("127.0.0.1:%d", 10000+i), Metadata: map[string]string{"host": "h" + id}})
	}
	return s
}

// nodeIDs returns the ids of all nodes of services, sorted.
func nodeIDs(svcs []*Service) []string {
	var out []string
	for _, s := range svcs {
		for _, n := range s.Nodes {
			out = append(out, n.Id)
		}
	}
	slices.Sort(out)
	return out
}

// ids returns "<prefix>0" ... "<prefix>n-1".
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// oldPluginPayload returns what the older plugin stores for node n of s:
// json.Marshal of s with exactly that node. It is written here, not taken
// from the engine, so that tests compare the engine with the contract.
func oldPluginPayload(s *Service, n *Node) ([]byte, error) {
	return json.Marshal(&Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Endpoints: s.Endpoints, Nodes: []*Node{n}})
}

// mustPayload is oldPluginPayload of s's first node, failing t on error.
func mustPayload(t testing.TB, s *Service) []byte {
	t.Helper()
	b, err := oldPluginPayload(s, s.Nodes[0])
	require.NoError(t, err)
	return b
}

// rawConn returns a plain zk connection with a session, closed when t
// ends, to look at and change ZooKeeper behind the registries' back.
func rawConn(t testing.TB, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(silentZK{}))
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

// silentZK discards zk's own log lines for raw connections.
type silentZK struct{}

func (silentZK) Printf(string, ...any) {}

// digestConn returns a raw connection authenticated as user:password.
func digestConn(t testing.TB, addr, user, password string) *zk.Conn {
	t.Helper()
	c := rawConn(t, addr)
	require.NoError(t, c.AddAuth("digest", []byte(user+":"+password)))
	return c
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

// zxidOf parses serverZxid's answer.
func zxidOf(t testing.TB, srv *zktest.Server) int64 {
	t.Helper()
	v, err := strconv.ParseInt(strings.TrimPrefix(serverZxid(t, srv), "0x"), 16, 64)
	require.NoError(t, err)
	return v
}

// newProxy starts a fault proxy to target, closed when t ends.
func newProxy(t testing.TB, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(target)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// shortContext returns a context that ends after d, or when t ends.
func shortContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// retryUntil calls op until it succeeds, for at most d, and returns how
// long that took and the errors it returned meanwhile.
func retryUntil(t testing.TB, d time.Duration, what string, op func() error) (time.Duration, []error) {
	t.Helper()
	start := time.Now()
	var errs []error
	for {
		err := op()
		if err == nil {
			return time.Since(start), errs
		}
		errs = append(errs, err)
		if time.Since(start) > d {
			t.Fatalf("%s still failing after %v: %v", what, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// registerAtOnce has every registry of regs register service(i), all
// released at the same moment, and returns their errors.
func registerAtOnce(ctx context.Context, regs []*Registry, service func(i int) *Service) []error {
	var wg sync.WaitGroup
	errs := make([]error, len(regs))
	start := make(chan struct{})
	for i, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = r.Register(ctx, service(i))
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// nextEvent returns the watcher's next change, failing t after d.
func nextEvent(t testing.TB, w *Watcher, d time.Duration) Event {
	t.Helper()
	e, err := nextEventWithin(w, d)
	require.NoError(t, err)
	return e
}

// nextEventWithin returns the watcher's next change or an error after d.
// On timeout it leaves the watcher stopped.
func nextEventWithin(w *Watcher, d time.Duration) (Event, error) {
	type res struct {
		e   Event
		err error
	}
	ch := make(chan res, 1)
	go func() {
		e, err := w.Next()
		ch <- res{e, err}
	}()
	select {
	case r := <-ch:
		return r.e, r.err
	case <-time.After(d):
		w.Stop()
		<-ch
		return Event{}, fmt.Errorf("no watch event within %v", d)
	}
}

// noEvent fails t if the watcher has anything to report within d.
func noEvent(t testing.TB, w *Watcher, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if e, ok := w.TryNext(); ok {
			t.Fatalf("unexpected watch event %s %s/%s", e.Action, e.Service.Name, e.Service.Nodes[0].Id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logRecorder is a Logger that keeps the lines it is given, from
// LevelInfo up (zk's own debug chatter only when debug is set), so that
// tests can check what the background loops reported.
type logRecorder struct {
	debug bool // keep LevelDebug lines too

	mu    sync.Mutex // guards lines
	lines []string
}

var _ Logger = (*logRecorder)(nil)

func (l *logRecorder) Logf(level Level, format string, args ...any) {
	if level < LevelInfo && !l.debug {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level.String()+" "+fmt.Sprintf(format, args...))
}

// count returns how many lines contain s.
func (l *logRecorder) count(s string) int { return len(l.matching(s)) }

// matching returns the lines that contain s.
func (l *logRecorder) matching(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// text returns every line kept.
func (l *logRecorder) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
