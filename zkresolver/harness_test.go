package zkresolver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// The harness of the tests against real ZooKeeper and real grpc servers.

// wait bounds every wait for something the registry or grpc does in well
// under a second on a quiet machine; a session expiry adds its timeout.
const wait = 10 * time.Second

// sessionTimeout is the session timeout of the tests' registries.
const sessionTimeout = 2 * time.Second

// newRegistry returns a go-micro v4 registry of this module on addr,
// closed when t ends.
func newRegistry(t testing.TB, addr string, opts ...registry.Option) registry.Registry {
	t.Helper()
	opts = append([]registry.Option{registry.Addrs(addr), zookeeper.SessionTimeout(sessionTimeout)}, opts...)
	reg := zookeeper.NewRegistry(opts...)
	t.Cleanup(func() { _ = reg.(interface{ Close() error }).Close() })
	return reg
}

// node returns a one-node service registration.
func node(service, version, id, addr string, md map[string]string) *registry.Service {
	return &registry.Service{Name: service, Version: version, Nodes: []*registry.Node{{Id: id, Address: addr, Metadata: md}}}
}

// healthServer is a grpc server of the standard health service on a
// loopback port.
type healthServer struct {
	addr string
	srv  *grpc.Server
}

// startHealthServer starts a health server, stopped when t ends.
func startHealthServer(t testing.TB) *healthServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return &healthServer{addr: lis.Addr().String(), srv: srv}
}

// Service configs that choose grpc's balancers.
const (
	roundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`
	pickFirst  = `{"loadBalancingConfig":[{"pick_first":{}}]}`
)

// dial returns a channel to target through b with the service config sc,
// closed when t ends.
func dial(t testing.TB, b resolver.Builder, target, sc string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(target,
		grpc.WithResolvers(b),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(sc))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// check makes one health check on conn and returns the address of the
// server that answered.
func check(conn *grpc.ClientConn) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var p peer.Peer
	_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p))
	if err != nil {
		return "", err
	}
	return p.Addr.String(), nil
}

// answering returns the sorted addresses of the servers that answered a
// batch of calls, or the first error.
func answering(conn *grpc.ClientConn) ([]string, error) {
	seen := map[string]bool{}
	for range 20 {
		addr, err := check(conn)
		if err != nil {
			return nil, err
		}
		seen[addr] = true
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out, nil
}

// waitAnswering waits until a batch of calls on conn lands on exactly the
// servers want, every call answered.
func waitAnswering(t testing.TB, conn *grpc.ClientConn, what string, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	zktest.WaitFor(t, wait, what, func() error {
		got, err := answering(conn)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("calls land on %v, want %v", got, want)
		}
		return nil
	})
}

// recorder is a resolver.ClientConn that records what a resolver reports
// and, if it stands in front of a channel's, passes it on.
type recorder struct {
	resolver.ClientConn // nil: a resolver calls only the two methods below

	mu     sync.Mutex
	next   resolver.ClientConn // the channel's, or nil
	states []resolver.State
	times  []time.Time // when each state was passed on
	errs   []error
}

// UpdateState records s and passes it on.
func (r *recorder) UpdateState(s resolver.State) error {
	r.mu.Lock()
	next := r.next
	r.mu.Unlock()
	var err error
	if next != nil {
		err = next.UpdateState(s)
	}
	r.mu.Lock()
	r.states = append(r.states, s)
	r.times = append(r.times, time.Now())
	r.mu.Unlock()
	return err
}

// ReportError records err and passes it on.
func (r *recorder) ReportError(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	next := r.next
	r.mu.Unlock()
	if next != nil {
		next.ReportError(err)
	}
}

// addresses returns the endpoints of s as "id@addr", sorted.
func addresses(s resolver.State) []string {
	var out []string
	for _, e := range s.Endpoints {
		n, _ := NodeFromEndpoint(e)
		out = append(out, n.ID+"@"+e.Addresses[0].Addr)
	}
	sort.Strings(out)
	return out
}

// history returns every state recorded so far, as addresses.
func (r *recorder) history() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]string, len(r.states))
	for i, s := range r.states {
		out[i] = addresses(s)
	}
	return out
}

// last returns the last state recorded as addresses, and whether there
// is one.
func (r *recorder) last() ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.states) == 0 {
		return nil, false
	}
	return addresses(r.states[len(r.states)-1]), true
}

// lastState returns the last state recorded.
func (r *recorder) lastState(t testing.TB) resolver.State {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.states, "no state reported")
	return r.states[len(r.states)-1]
}

// errors returns the errors recorded so far.
func (r *recorder) errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// waitState waits until the last state recorded is want ("id@addr", in
// any order).
func (r *recorder) waitState(t testing.TB, what string, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	zktest.WaitFor(t, wait, what, func() error {
		got, ok := r.last()
		if !ok || !slices.Equal(got, want) {
			return fmt.Errorf("last state %v (any: %v), want %v", got, ok, want)
		}
		return nil
	})
}

// waitError waits until an error containing text was reported.
func (r *recorder) waitError(t testing.TB, text string) error {
	t.Helper()
	var found error
	zktest.Eventually(t, wait, func() bool {
		for _, err := range r.errors() {
			if strings.Contains(err.Error(), text) {
				found = err
				return true
			}
		}
		return false
	}, "no error containing %q reported; got %v", text, r.errors())
	return found
}

// recordingBuilder is a Builder whose resolvers report to a recorder that
// passes everything on to the channel.
type recordingBuilder struct {
	resolver.Builder
	rec *recorder
}

// Build builds the resolver with rec in front of cc.
func (b recordingBuilder) Build(t resolver.Target, cc resolver.ClientConn, o resolver.BuildOptions) (resolver.Resolver, error) {
	b.rec.mu.Lock()
	b.rec.next = cc
	b.rec.mu.Unlock()
	return b.Builder.Build(t, b.rec, o)
}

// build builds a resolver of target (a string such as "zookeeper:///svc")
// on reg, reporting to a recorder only, closed when t ends.
func build(t testing.TB, reg registry.Registry, target string) (*recorder, resolver.Resolver) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	rec := &recorder{}
	res, err := NewBuilder(reg).Build(resolver.Target{URL: *u}, rec, resolver.BuildOptions{})
	require.NoError(t, err)
	t.Cleanup(res.Close)
	return rec, res
}

// child is the test binary running as a child process (see runChild).
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited
}

// startChild runs the test binary in mode with env (KEY=VALUE pairs) and
// returns it with the first line it printed, which must start with
// "REGISTERED ". It is killed when t ends.
func startChild(t testing.TB, mode string, env ...string) (*child, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, done: make(chan struct{})}
	first := make(chan string, 1)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			first <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
	}()
	t.Cleanup(c.kill)
	select {
	case line := <-first:
		require.True(t, strings.HasPrefix(line, "REGISTERED "), "child: %s", line)
		return c, strings.TrimPrefix(line, "REGISTERED ")
	case <-c.done:
		select {
		case line := <-first:
			t.Fatalf("child process exited: %s", line)
		default:
			t.Fatal("child process exited without a word")
		}
	case <-time.After(wait):
		t.Fatalf("child process printed nothing in %v", wait)
	}
	return nil, ""
}

// kill SIGKILLs the child and waits for it to exit.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}
