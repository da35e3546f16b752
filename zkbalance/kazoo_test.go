package zkbalance

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/selector"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// kazoo runs a Python program with kazoo (Python's ZooKeeper client)
// connected to addr as zk, and returns what it prints; a missing kazoo
// fails the test (zktest.Kazoo).
func kazoo(t *testing.T, addr, program string) string {
	t.Helper()
	return strings.TrimSpace(zktest.Kazoo(t, addr, program))
}

// setStatusKazoo is a kazoo program that sets the status of the node at
// path as the contract says (a versioned rewrite; "" removes it).
func setStatusKazoo(path, status string) string {
	return `
data, stat = zk.get(` + strconv.Quote(path) + `)
svc = json.loads(data)
md = svc["nodes"][0].setdefault("metadata", {})
status = ` + strconv.Quote(status) + `
if status:
    md["status"] = status
else:
    md.pop("status", None)
zk.set(` + strconv.Quote(path) + `, json.dumps(svc).encode(), version=stat.version)
`
}

// The conventions are a contract any ZooKeeper client can use: Python's
// kazoo reads a server's published load, and drains and undrains a node
// with a versioned rewrite of its status, which the owning server adopts
// and Go clients using the strategy follow.
func TestKazooReadsTheLoadAndDrainsANode(t *testing.T) {
	zk := zktest.Start(t)
	a := startServer(t, zk.Addr, "a", time.Millisecond, 1, []Option{Interval(50 * time.Millisecond)})
	b := startServer(t, zk.Addr, "b", time.Millisecond, 1, []Option{Interval(50 * time.Millisecond)})
	reg := newRegistry(t, zk.Addr)
	pathOf := func(s *testServer) string { return "/micro-registry/" + service + "/" + s.id }
	zktest.Eventually(t, zkTimeout, func() bool { _, ok := nodeMetadata(t, reg, a.id)[engine.MetaLoad]; return ok },
		"no load published")

	load := kazoo(t, zk.Addr, `print(json.loads(zk.get(`+strconv.Quote(pathOf(a))+`)[0])["nodes"][0]["metadata"]["load"])`)
	v, err := strconv.ParseFloat(load, 64)
	require.NoError(t, err, "kazoo read load %q", load)
	assert.GreaterOrEqual(t, v, 0.0)

	sel := selector.NewSelector(selector.Registry(reg), selector.SetStrategy(LeastLoaded()))
	t.Cleanup(func() { _ = sel.Close() })
	picked := func() map[string]bool {
		next, err := sel.Select(service)
		require.NoError(t, err)
		seen := map[string]bool{}
		for range 200 {
			n, err := next()
			require.NoError(t, err)
			seen[n.Id] = true
		}
		return seen
	}
	zktest.Eventually(t, zkTimeout, func() bool { return picked()[b.id] }, "b is never picked")

	kazoo(t, zk.Addr, setStatusKazoo(pathOf(b), engine.StatusDraining))
	zktest.Eventually(t, zkTimeout, func() bool { return !picked()[b.id] }, "b is still picked after kazoo drained it")
	require.NoError(t, b.srv.(interface{ Register() error }).Register())
	assert.Equal(t, engine.StatusDraining, nodeMetadata(t, reg, b.id)[engine.MetaStatus], "the owner keeps kazoo's status")

	kazoo(t, zk.Addr, setStatusKazoo(pathOf(b), ""))
	zktest.Eventually(t, zkTimeout, func() bool { return picked()[b.id] }, "b is never picked again after kazoo undrained it")
}
