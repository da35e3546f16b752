package zkresolver

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// A round_robin client's calls land on the nodes the registry holds: one
// registered, another added, one deregistered while its server still
// runs, one drained (left out while another serves, used when it is the
// last), and none.
func TestCallsFollowTheRegistry(t *testing.T) {
	zk := zktest.Start(t)
	servers := newRegistry(t, zk.Addr) // the servers' registrations
	client := newRegistry(t, zk.Addr)  // the client's, another process's in real life
	a, b, c := startHealthServer(t), startHealthServer(t), startHealthServer(t)
	rec := &recorder{}
	conn := dial(t, recordingBuilder{NewBuilder(client), rec}, "zookeeper:///greeter", roundRobin)

	require.NoError(t, servers.Register(node("greeter", "1.0.0", "a", a.addr, nil)))
	waitAnswering(t, conn, "calls on the first node", a.addr)

	require.NoError(t, servers.Register(node("greeter", "1.0.0", "b", b.addr, map[string]string{"zone": "eu"})))
	waitAnswering(t, conn, "calls spread over both nodes", a.addr, b.addr)
	got, ok := NodeFromEndpoint(rec.lastState(t).Endpoints[1])
	require.True(t, ok, "each endpoint carries its node")
	assert.Equal(t, Node{Service: "greeter", Version: "1.0.0", ID: "b", Address: b.addr, Metadata: map[string]string{"zone": "eu"}, Weight: 1}, got)

	require.NoError(t, servers.Deregister(node("greeter", "1.0.0", "a", a.addr, nil)))
	waitAnswering(t, conn, "no call on the deregistered node, whose server still runs", b.addr)

	require.NoError(t, servers.Register(node("greeter", "1.0.0", "c", c.addr, nil)))
	waitAnswering(t, conn, "calls on the new node", b.addr, c.addr)
	require.NoError(t, servers.Register(node("greeter", "1.0.0", "c", c.addr, map[string]string{MetaStatus: StatusDraining})))
	waitAnswering(t, conn, "no call on the drained node while another serves", b.addr)

	require.NoError(t, servers.Deregister(node("greeter", "1.0.0", "b", b.addr, nil)))
	waitAnswering(t, conn, "calls on the drained node once it is the last", c.addr)

	require.NoError(t, servers.Deregister(node("greeter", "1.0.0", "c", c.addr, nil)))
	rec.waitState(t, "an empty list once the service has no nodes")
	err := rec.waitError(t, "no nodes")
	assert.Equal(t, `zookeeper: resolve service "greeter": no nodes`, err.Error())
	_, err = check(conn)
	assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
}

// With pick_first, a call on a service without nodes fails with the
// resolver's error, and the first node registered then serves.
func TestPickFirstSaysTheServiceHasNoNodes(t *testing.T) {
	zk := zktest.Start(t)
	reg := newRegistry(t, zk.Addr)
	conn := dial(t, NewBuilder(reg), "zookeeper:///greeter?version=2.0.0", pickFirst)
	a, b := startHealthServer(t), startHealthServer(t)
	require.NoError(t, reg.Register(node("greeter", "1.0.0", "a", a.addr, nil)))

	zktest.WaitFor(t, wait, "a call failing with the resolver's error", func() error {
		addr, err := check(conn)
		switch {
		case err == nil:
			return fmt.Errorf("a call landed on %s", addr)
		case !strings.Contains(err.Error(), `zookeeper: resolve service "greeter": no nodes of version "2.0.0"`):
			return err
		}
		assert.Equal(t, codes.Unavailable, status.Code(err))
		return nil
	})
	require.NoError(t, reg.Register(node("greeter", "2.0.0", "b", b.addr, nil)))
	waitAnswering(t, conn, "calls on the node of version 2.0.0", b.addr)
}

// A target's version restricts it to that version's nodes, and a node
// that moves to another version moves between targets.
func TestVersionTargets(t *testing.T) {
	zk := zktest.Start(t)
	reg := newRegistry(t, zk.Addr)
	require.NoError(t, reg.Register(node("greeter", "1.0.0", "a", "10.0.0.1:1", nil)))
	require.NoError(t, reg.Register(node("greeter", "2.0.0", "b", "10.0.0.2:1", nil)))
	all, _ := build(t, reg, "zookeeper:///greeter")
	v1, _ := build(t, reg, "zookeeper:///greeter?version=1.0.0")
	v2, _ := build(t, reg, "zookeeper:///greeter?version=2.0.0")
	all.waitState(t, "every version", "a@10.0.0.1:1", "b@10.0.0.2:1")
	v1.waitState(t, "version 1.0.0", "a@10.0.0.1:1")
	v2.waitState(t, "version 2.0.0", "b@10.0.0.2:1")

	require.NoError(t, reg.Register(node("greeter", "2.0.0", "a", "10.0.0.1:1", nil)))
	v2.waitState(t, "a moved to 2.0.0", "a@10.0.0.1:1", "b@10.0.0.2:1")
	v1.waitState(t, "version 1.0.0 has no nodes left")
	v1.waitError(t, `no nodes of version "1.0.0"`)
	all.waitState(t, "every version", "a@10.0.0.1:1", "b@10.0.0.2:1")
	n, ok := NodeFromEndpoint(all.lastState(t).Endpoints[0])
	require.True(t, ok)
	assert.Equal(t, "2.0.0", n.Version)
}

// A node's metadata changes reach grpc, its weight included.
func TestMetadataAndWeights(t *testing.T) {
	zk := zktest.Start(t)
	reg := newRegistry(t, zk.Addr)
	rec, _ := build(t, reg, "zookeeper:///greeter")
	rec.waitState(t, "an empty service")
	require.NoError(t, reg.Register(node("greeter", "1.0.0", "a", "10.0.0.1:1", map[string]string{MetaWeight: "3"})))
	rec.waitState(t, "the node", "a@10.0.0.1:1")
	require.NoError(t, reg.Register(node("greeter", "1.0.0", "a", "10.0.0.1:1", map[string]string{MetaWeight: "0.5", "zone": "eu"})))
	zktest.Eventually(t, wait, func() bool {
		n, ok := NodeFromEndpoint(rec.lastState(t).Endpoints[0])
		return ok && n.Weight == 0.5 && n.Metadata["zone"] == "eu"
	}, "the node's new metadata")
}

// Bad targets and foreign registries are refused when grpc builds the
// resolver, and the channel's calls fail saying why.
func TestBuildRefusesBadTargetsAndForeignRegistries(t *testing.T) {
	zk := zktest.Start(t)
	reg := newRegistry(t, zk.Addr)
	rec := &recorder{}
	for _, target := range []string{"zookeeper://zk1:2181/greeter", "zookeeper:///", "zookeeper:///greeter?zone=eu"} {
		conn := dial(t, NewBuilder(reg), target, roundRobin)
		_, err := check(conn)
		require.Error(t, err, target)
		assert.Contains(t, err.Error(), "zookeeper: target ", target)
	}

	conn := dial(t, NewBuilder(foreignRegistry{}), "zookeeper:///greeter", roundRobin)
	_, err := check(conn)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `zookeeper: resolver: not a registry of this module (github.com/zkmicro/zookeeper): the registry is "mdns" (zkresolver.foreignRegistry)`)
	_, err = NewBuilder(nil).Build(resolver.Target{}, rec, resolver.BuildOptions{})
	assert.ErrorIs(t, err, ErrNotZooKeeper)
	assert.Contains(t, err.Error(), "the registry is nil")
	assert.Equal(t, "zookeeper", NewBuilder(reg).Scheme())
}

// foreignRegistry is a registry that this module did not make.
type foreignRegistry struct{}

func (foreignRegistry) String() string { return "mdns" }

// While ZooKeeper cannot be reached, the resolver reports why and tries
// again; once it can, it resolves. Closing the registry empties the list
// and says so.
func TestResolverReportsFailuresAndRecovers(t *testing.T) {
	zk := zktest.Start(t)
	zk.Stop()
	reg := newRegistry(t, zk.Addr, registry.Timeout(time.Second))
	rec, _ := build(t, reg, "zookeeper:///greeter")
	err := rec.waitError(t, `zookeeper: resolve service "greeter": `)
	t.Logf("reported without ZooKeeper: %v", err)
	_, any := rec.last()
	assert.False(t, any, "nothing resolved without ZooKeeper")

	require.NoError(t, zk.Start())
	require.NoError(t, reg.Register(node("greeter", "1.0.0", "a", "10.0.0.1:1", nil)))
	rec.waitState(t, "the node once ZooKeeper is back", "a@10.0.0.1:1")

	require.NoError(t, reg.(interface{ Close() error }).Close())
	rec.waitState(t, "an empty list once the registry is closed")
	err = rec.waitError(t, "closed")
	assert.Equal(t, `zookeeper: resolve service "greeter": watch: registry is closed`, err.Error())
	assert.ErrorIs(t, err, engine.ErrClosed)
}

// Close returns promptly while the resolver waits for ZooKeeper, and is
// idempotent.
func TestCloseWhileWaitingForZooKeeper(t *testing.T) {
	zk := zktest.Start(t)
	zk.Stop()
	reg := newRegistry(t, zk.Addr, registry.Timeout(time.Minute))
	_, res := build(t, reg, "zookeeper:///greeter")
	done := make(chan struct{})
	go func() {
		defer close(done)
		res.Close()
		res.Close()
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("Close did not return within %v while the watch waited for ZooKeeper (timeout 1m)", wait)
	}
	assert.Empty(t, resolverGoroutines(), "the resolver's goroutines have exited when Close returns")
	res.ResolveNow(resolver.ResolveNowOptions{})
}

// Close stops the goroutines of a resolver that follows its service, and
// the channel's Close closes its resolver.
func TestCloseEndsTheResolversGoroutines(t *testing.T) {
	zk := zktest.Start(t)
	reg := newRegistry(t, zk.Addr)
	require.NoError(t, reg.Register(node("greeter", "1.0.0", "a", "10.0.0.1:1", nil)))
	rec, res := build(t, reg, "zookeeper:///greeter")
	rec.waitState(t, "the node", "a@10.0.0.1:1")
	require.NotEmpty(t, resolverGoroutines())
	res.Close()
	assert.Empty(t, resolverGoroutines(), "the resolver's goroutines have exited when Close returns")

	srv := startHealthServer(t)
	require.NoError(t, reg.Register(node("greeter", "1.0.0", "b", srv.addr, nil)))
	require.NoError(t, reg.Deregister(node("greeter", "1.0.0", "a", "10.0.0.1:1", nil)))
	conn := dial(t, NewBuilder(reg), "zookeeper:///greeter", roundRobin)
	waitAnswering(t, conn, "calls on the node", srv.addr)
	require.NoError(t, conn.Close())
	zktest.Eventually(t, wait, func() bool { return len(resolverGoroutines()) == 0 },
		"the channel's Close closes its resolver (grpc closes it asynchronously): %s", strings.Join(resolverGoroutines(), "\n"))
}

// resolverGoroutines returns the stacks of the goroutines running the
// resolver's code.
func resolverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "zkresolver.(*zkResolver)") {
			out = append(out, g)
		}
	}
	return out
}
