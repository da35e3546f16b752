package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Tests of one Client shared by a Registry and Trees, against a real
// ZooKeeper.

// aliveConnections returns the server's count of client connections
// (mntr's zk_num_alive_connections).
func aliveConnections(t *testing.T, addr string) int {
	t.Helper()
	out, err := zktest.FourLetter(addr, "mntr")
	require.NoError(t, err)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "zk_num_alive_connections\t"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("mntr has no zk_num_alive_connections: %q", out)
	return 0
}

func TestRegistryAndTreesShareOneSession(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	raw := rawZK(t, srv.Addr)
	mustCreate(t, raw, "/cfg/a/greeting", "/other/x")
	before := aliveConnections(t, srv.Addr)

	r := NewRegistry(Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second})
	t.Cleanup(func() { _ = r.Close() })
	ctx := context.Background()
	require.NoError(t, r.Register(ctx, &Service{Name: "greeter", Nodes: []*Node{{Id: "g1", Address: "127.0.0.1:1"}}}))
	cfgTree := NewTree(r.Client(), TreeOptions{Prefix: "/cfg"})
	other := NewTree(r.Client(), TreeOptions{Prefix: "/other"})
	t.Cleanup(func() { _ = cfgTree.Close(); _ = other.Close() })

	assert.Equal(t, map[string]string{"": "", "/a": "", "/a/greeting": "v:/cfg/a/greeting"}, flat(t, snapshot(t, cfgTree)))
	assert.Equal(t, map[string]string{"": "", "/x": "v:/other/x"}, flat(t, snapshot(t, other)))
	sid := r.Client().SessionID()
	require.NotZero(t, sid)
	assert.Equal(t, before+1, aliveConnections(t, srv.Addr), "a registry and two trees hold one connection")

	// A change pushed through ZooKeeper arrives over that session, and
	// each tree hears only its own subtree.
	_, err := raw.Set("/cfg/a/greeting", []byte("hello"), -1)
	require.NoError(t, err)
	awaitTree(t, cfgTree, "the new greeting", func(m map[string]string) bool { return m["/a/greeting"] == "hello" })
	_, err = raw.Create("/micro-registry/greeter/foreign", []byte("{}"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	s, _ := other.Latest()
	assert.Equal(t, map[string]string{"": "", "/x": "v:/other/x"}, flat(t, s))

	// Closing a tree leaves the session and the registry's node alone.
	require.NoError(t, other.Close())
	_, err = other.Snapshot(ctx)
	require.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, sid, r.Client().SessionID())
	_, stat, err := raw.Get("/micro-registry/greeter/g1")
	require.NoError(t, err)
	assert.Equal(t, sid, stat.EphemeralOwner)
	_, err = cfgTree.Snapshot(ctx)
	require.NoError(t, err, "the other tree lives on")

	// Closing the registry ends the session, and the tree on it.
	require.NoError(t, r.Close())
	_, err = cfgTree.Snapshot(ctx)
	require.ErrorIs(t, err, ErrClosed)
	select {
	case <-cfgTree.Done():
	default:
		t.Fatal("the tree's Done is not closed with its client")
	}
	zktest.Eventually(t, 20*time.Second, func() bool { return !srv.SessionAlive(sid) }, "the session outlived Close")
	// A tree built on a closed client is closed.
	late := NewTree(r.Client(), TreeOptions{Prefix: "/cfg"})
	_, err = late.Snapshot(ctx)
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, late.Close())
}

func TestTreeFollowsItsClientToNewServers(t *testing.T) {
	t.Parallel()
	a, b := zktest.Start(t), zktest.Start(t)
	mustCreate(t, rawZK(t, a.Addr), "/cfg/where")
	rawB := rawZK(t, b.Addr)
	mustCreate(t, rawB, "/cfg/where")
	_, err := rawB.Set("/cfg/where", []byte("b"), -1)
	require.NoError(t, err)

	r := NewRegistry(Options{Addrs: []string{a.Addr}, Timeout: 10 * time.Second})
	t.Cleanup(func() { _ = r.Close() })
	tr := NewTree(r.Client(), TreeOptions{Prefix: "/cfg"})
	t.Cleanup(func() { _ = tr.Close() })
	assert.Equal(t, "v:/cfg/where", flat(t, snapshot(t, tr))["/where"])

	// Init moves the client; the tree reads the new server's subtree.
	require.NoError(t, r.Init(Options{Addrs: []string{b.Addr}, Timeout: 10 * time.Second}))
	awaitTree(t, tr, "the new server's data", func(m map[string]string) bool { return m["/where"] == "b" })
}

func TestTreeOptionsAreValidated(t *testing.T) {
	t.Parallel()
	c := NewClient(Options{})
	t.Cleanup(func() { _ = c.Close() })
	for name, o := range map[string]TreeOptions{
		"no prefix":         {},
		"relative prefix":   {Prefix: "cfg"},
		"negative timeout":  {Prefix: "/cfg", Timeout: -time.Second},
		"auth without cred": {Prefix: "/cfg", AncestorACL: []zk.ACL{{Perms: zk.PermAll, Scheme: "auth"}}},
	} {
		t.Run(name, func(t *testing.T) {
			tr := NewTree(c, o)
			t.Cleanup(func() { _ = tr.Close() })
			_, err := tr.Snapshot(context.Background())
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			require.Error(t, tr.Apply(context.Background(), func(*TreeSnapshot) ([]any, error) { return nil, nil }))
		})
	}
}

func TestInitWithAnEmptyAddressChangesNothing(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := NewRegistry(Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second})
	t.Cleanup(func() { _ = r.Close() })
	require.NoError(t, r.Register(context.Background(), &Service{Name: "greeter", Nodes: []*Node{{Id: "g1", Address: "127.0.0.1:1"}}}))
	sid := r.Client().SessionID()

	for _, addrs := range [][]string{{""}, {" "}, {"", " , "}} {
		err := r.Init(Options{Addrs: addrs, Timeout: 10 * time.Second})
		require.Error(t, err, "%q", addrs)
		assert.Contains(t, err.Error(), "zookeeper: address list")
	}
	cfg, err := r.Config()
	require.NoError(t, err)
	assert.Equal(t, []string{srv.Addr}, cfg.Servers(), "still on its server")
	assert.Equal(t, sid, r.Client().SessionID(), "same session")
	_, stat, err := rawZK(t, srv.Addr).Get("/micro-registry/greeter/g1")
	require.NoError(t, err)
	assert.Equal(t, sid, stat.EphemeralOwner, "its node is where it was")
}

func TestStatsOfAClosedRegistryHaveNoGauges(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := NewRegistry(Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second})
	ctx := context.Background()
	require.NoError(t, r.Register(ctx, &Service{Name: "greeter", Nodes: []*Node{{Id: "g1", Address: "127.0.0.1:1"}}}))
	_, err := r.ListServices(ctx)
	require.NoError(t, err)
	w, err := r.Watch(ctx, "", nil)
	require.NoError(t, err)
	defer w.Stop()
	zktest.Eventually(t, 10*time.Second, func() bool { return r.Stats().OwnedNodes == 1 }, "node never owned")
	open := r.Stats()
	require.True(t, open.Connected)
	require.Equal(t, 1, open.RegisteredNodes)
	require.NotZero(t, open.MirroredServices)
	require.Equal(t, 1, open.Watchers)

	require.NoError(t, r.Close())
	closed := r.Stats()
	assert.False(t, closed.Connected)
	assert.Zero(t, closed.RegisteredNodes)
	assert.Zero(t, closed.OwnedNodes)
	assert.Zero(t, closed.MirroredServices)
	assert.Zero(t, closed.MirroredNodes)
	assert.Zero(t, closed.Watchers)
	assert.Equal(t, open.SessionsEstablished, closed.SessionsEstablished, "counters keep their totals")
	assert.Equal(t, open.Calls[OpRegister].Count, closed.Calls[OpRegister].Count)
}
