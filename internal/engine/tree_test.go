package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Tests of the Tree against a real ZooKeeper. Those that need only part
// of it run in parallel, each in a namespace of the server the package's
// tests share (zktest.Shared); those that cut a tree off have a server of
// their own.

// rawZK returns a plain zk connection to addr, closed when the test ends,
// for tests to change ZooKeeper behind a Tree's back.
func rawZK(t testing.TB, addr string, auth ...string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(zkLogger{nopLogger{}}))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	for _, a := range auth {
		require.NoError(t, c.AddAuth("digest", []byte(a)))
	}
	return c
}

// znodeCreator is a zk connection, plain (*zk.Conn) or to a namespace
// (*zktest.NamespaceConn).
type znodeCreator interface {
	Create(p string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Multi(ops ...any) ([]zk.MultiResponse, error)
}

// mustCreate creates the znodes at paths, each with data "v:<path>", and
// their missing ancestors with empty data.
func mustCreate(t testing.TB, c znodeCreator, paths ...string) {
	t.Helper()
	for _, p := range paths {
		for i := 1; i < len(p); i++ {
			if p[i] == '/' {
				if _, err := c.Create(p[:i], nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
					require.NoError(t, err, p[:i])
				}
			}
		}
		_, err := c.Create(p, []byte("v:"+p), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err, p)
	}
}

// newTestTree returns a tree of prefix at addr, on a client of its own,
// both closed when the test ends.
func newTestTree(t *testing.T, addr, prefix string, opts ...Option) *Tree {
	t.Helper()
	return newTestTreeOn(t, Options{Addrs: []string{addr}, Settings: opts}, TreeOptions{Prefix: prefix})
}

// newTestTreeOn returns a tree with to on a client of its own with o, both
// closed when the test ends.
func newTestTreeOn(t *testing.T, o Options, to TreeOptions) *Tree {
	t.Helper()
	c := NewClient(o)
	tr := NewTree(c, to)
	t.Cleanup(func() {
		require.NoError(t, tr.Close())
		require.NoError(t, c.Close())
	})
	return tr
}

// snapshot returns the tree's snapshot in sync, failing the test if there
// is none within 10 s.
func snapshot(t *testing.T, tr *Tree) *TreeSnapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := tr.Snapshot(ctx)
	require.NoError(t, err)
	return s
}

// flat renders a snapshot as rel -> data, and checks its invariants: every
// znode but the root has its parent, and the children lists match.
func flat(t *testing.T, s *TreeSnapshot) map[string]string {
	t.Helper()
	out := map[string]string{}
	for rel, n := range s.Nodes {
		out[rel] = string(n.Data)
		require.True(t, slices.IsSorted(n.Children), rel)
		for _, c := range n.Children {
			if s.Nodes[rel+"/"+c] == nil {
				t.Fatalf("child %q of %q has no entry", c, rel)
			}
		}
		if rel != "" {
			p := s.Nodes[parentRel(rel)]
			if p == nil {
				t.Fatalf("parent of %q has no entry", rel)
			}
			if _, ok := slices.BinarySearch(p.Children, rel[strings.LastIndexByte(rel, '/')+1:]); !ok {
				t.Fatalf("parent of %q does not list it", rel)
			}
		}
	}
	return out
}

// awaitTree waits until the tree's latest snapshot satisfies cond.
func awaitTree(t *testing.T, tr *Tree, what string, cond func(map[string]string) bool) *TreeSnapshot {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s, ch := tr.Latest()
		if s != nil && cond(flat(t, s)) {
			return s
		}
		select {
		case <-ch:
		case <-deadline:
			var got any = "no snapshot"
			if s != nil {
				if got = flat(t, s); len(s.Nodes) > 20 {
					got = fmt.Sprintf("%d znodes", len(s.Nodes))
				}
			}
			t.Fatalf("tree never showed %s; last: %v", what, got)
		}
	}
}

func TestTreeMirrorsTheSubtree(t *testing.T) {
	t.Parallel()
	ns := zktest.Shared(t)
	c := ns.Connect(t)
	mustCreate(t, c, "/cfg/a", "/cfg/b/c", "/cfg/b/d/e", "/elsewhere/x")
	tr := newTestTree(t, ns.Addr, "/cfg")

	s := snapshot(t, tr)
	assert.Equal(t, ns.Path("/cfg"), s.Root, "the root on the server, chroot included")
	assert.Equal(t, map[string]string{
		"": "", "/a": "v:/cfg/a", "/b": "", "/b/c": "v:/cfg/b/c", "/b/d": "", "/b/d/e": "v:/cfg/b/d/e",
	}, flat(t, s))
	assert.Equal(t, []string{"c", "d"}, s.Nodes["/b"].Children)
	assert.Equal(t, int32(0), s.Nodes["/a"].Version)

	// Every kind of change shows, each in a new revision.
	rev := s.Revision
	_, err := c.Set("/cfg/a", []byte("changed"), 0)
	require.NoError(t, err)
	s = awaitTree(t, tr, "a changed", func(m map[string]string) bool { return m["/a"] == "changed" })
	assert.Equal(t, int32(1), s.Nodes["/a"].Version)
	assert.Greater(t, s.Revision, rev)

	mustCreate(t, c, "/cfg/b/d/f/g")
	awaitTree(t, tr, "a new branch", func(m map[string]string) bool { return m["/b/d/f/g"] == "v:/cfg/b/d/f/g" })
	// A new leaf gets watches too: it can become a parent.
	mustCreate(t, c, "/cfg/a/under")
	awaitTree(t, tr, "a leaf that became a parent", func(m map[string]string) bool { _, ok := m["/a/under"]; return ok })

	require.NoError(t, c.Delete("/cfg/b/d/e", -1))
	awaitTree(t, tr, "e deleted", func(m map[string]string) bool { _, ok := m["/b/d/e"]; return !ok })

	// Deleted and created again: still watched afterwards.
	require.NoError(t, c.Delete("/cfg/b/c", -1))
	mustCreate(t, c, "/cfg/b/c")
	_, err = c.Set("/cfg/b/c", []byte("again"), 0)
	require.NoError(t, err)
	awaitTree(t, tr, "c created again and changed", func(m map[string]string) bool { return m["/b/c"] == "again" })

	// The root goes and comes back.
	for _, p := range []string{"/cfg/a/under", "/cfg/a", "/cfg/b/c", "/cfg/b/d/f/g", "/cfg/b/d/f", "/cfg/b/d", "/cfg/b", "/cfg"} {
		require.NoError(t, c.Delete(p, -1), p)
	}
	awaitTree(t, tr, "an empty tree", func(m map[string]string) bool { return len(m) == 0 })
	mustCreate(t, c, "/cfg/new")
	awaitTree(t, tr, "the root created again", func(m map[string]string) bool { return m["/new"] == "v:/cfg/new" && len(m) == 2 })
	assert.Empty(t, flat(t, snapshot(t, newTestTree(t, ns.Addr, "/missing"))), "a missing root is an empty snapshot")
}

func TestTreeUnderAChrootThatDoesNotExistYet(t *testing.T) {
	t.Parallel()
	ns := zktest.Shared(t)
	c := ns.Connect(t)
	tr := newTestTree(t, ns.Addr+"/apps/prod", "/cfg")
	assert.Empty(t, flat(t, snapshot(t, tr)))
	mustCreate(t, c, "/apps/prod/cfg/k")
	awaitTree(t, tr, "k under the chroot", func(m map[string]string) bool { return m["/k"] == "v:/apps/prod/cfg/k" })
}

// bigTree is the subtree of the reads-in-flight test and benchmark:
// bigTreeDirs znodes under /big, each with bigTreeKeys children, made with
// one multi per directory.
const bigTreeDirs, bigTreeKeys = 100, 100

// bigTreeZnodes is how many znodes the big tree holds, /big included.
const bigTreeZnodes = 1 + bigTreeDirs + bigTreeDirs*bigTreeKeys

func createBigTree(t testing.TB, c znodeCreator) {
	t.Helper()
	mustCreate(t, c, "/big")
	for d := range bigTreeDirs {
		ops := []any{&zk.CreateRequest{Path: fmt.Sprintf("/big/d%03d", d), Data: []byte{}, Acl: zk.WorldACL(zk.PermAll)}}
		for k := range bigTreeKeys {
			ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("/big/d%03d/k%03d", d, k), Data: []byte(fmt.Sprint(k)), Acl: zk.WorldACL(zk.PermAll)})
		}
		_, err := c.Multi(ops...)
		require.NoError(t, err)
	}
}

// bigTreeTimeout is the Timeout of the trees of the big tree: the first
// read of its 10,101 znodes takes 2.5-3 s under -race on a quiet
// machine (BenchmarkTreeReadsTenThousandZnodes), and the default Timeout
// (5 s) bounds every wait for it.
const bigTreeTimeout = time.Minute

func TestTreeReadsTenThousandZnodesWithReadsInFlight(t *testing.T) {
	t.Parallel()
	ns := zktest.Shared(t)
	c := ns.Connect(t)
	createBigTree(t, c)
	tr := newTestTreeOn(t, Options{Addrs: []string{ns.Addr}, Timeout: bigTreeTimeout}, TreeOptions{Prefix: "/big"})
	s, err := tr.Snapshot(context.Background())
	require.NoError(t, err)
	require.Len(t, s.Nodes, bigTreeZnodes)
	st := tr.Stats()
	// Two reads per znode (data and children), in one round of three
	// levels.
	assert.Equal(t, uint64(2*bigTreeZnodes), st.Reads)
	assert.Equal(t, uint64(1), st.Rounds)

	_, err = c.Set("/big/d042/k042", []byte("x"), 0)
	require.NoError(t, err)
	awaitTree(t, tr, "one change among 10,000", func(m map[string]string) bool { return m["/d042/k042"] == "x" })
	assert.Equal(t, st.Reads+1, tr.Stats().Reads, "a data change costs one read")
}

// BenchmarkTreeReadsTenThousandZnodes measures a tree's first whole read
// of the big tree (20,202 reads, many in flight) against a real ZooKeeper:
//
//	go test -race -run '^$' -bench TreeReadsTenThousand ./internal/engine/
func BenchmarkTreeReadsTenThousandZnodes(b *testing.B) {
	ns := zktest.Shared(b)
	createBigTree(b, ns.Connect(b))
	for b.Loop() {
		c := NewClient(Options{Addrs: []string{ns.Addr}, Timeout: bigTreeTimeout})
		tr := NewTree(c, TreeOptions{Prefix: "/big"})
		s, err := tr.Snapshot(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Nodes) != bigTreeZnodes {
			b.Fatalf("%d znodes read, want %d", len(s.Nodes), bigTreeZnodes)
		}
		if err := tr.Close(); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bigTreeZnodes*b.N)/b.Elapsed().Seconds(), "znodes/s")
}

func TestTreeApply(t *testing.T) {
	t.Parallel()
	ns := zktest.Shared(t)
	c := ns.Connect(t)
	tr := newTestTree(t, ns.Addr+"/chroot", "/deep/cfg")
	ctx := context.Background()

	// The root and its ancestors are created; Apply returns once the tree
	// shows the write.
	err := tr.Apply(ctx, func(s *TreeSnapshot) ([]any, error) {
		require.Empty(t, s.Nodes)
		return []any{
			&zk.CreateRequest{Path: s.Root, Data: []byte{}, Acl: zk.WorldACL(zk.PermAll)},
			&zk.CreateRequest{Path: s.Root + "/k", Data: []byte("1"), Acl: zk.WorldACL(zk.PermAll)},
		}, nil
	})
	require.NoError(t, err)
	s, _ := tr.Latest()
	assert.Equal(t, map[string]string{"": "", "/k": "1"}, flat(t, s))
	data, _, err := c.Get("/chroot/deep/cfg/k")
	require.NoError(t, err)
	assert.Equal(t, "1", string(data))

	// A concurrent change fails the multi; Apply re-reads and plans again.
	var attempts atomic.Int32
	err = tr.Apply(ctx, func(s *TreeSnapshot) ([]any, error) {
		if attempts.Add(1) == 1 {
			_, err := c.Set("/chroot/deep/cfg/k", []byte("theirs"), -1)
			require.NoError(t, err)
		}
		n := s.Nodes["/k"]
		return []any{&zk.SetDataRequest{Path: s.Root + "/k", Data: []byte("mine"), Version: n.Version}}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, int32(2), attempts.Load())
	s, _ = tr.Latest()
	assert.Equal(t, "mine", string(s.Nodes["/k"].Data))

	// A subtree that keeps changing: a clear error after the attempts.
	attempts.Store(0)
	err = tr.Apply(ctx, func(s *TreeSnapshot) ([]any, error) {
		attempts.Add(1)
		_, err := c.Set("/chroot/deep/cfg/k", []byte("theirs"), -1)
		require.NoError(t, err)
		return []any{&zk.SetDataRequest{Path: s.Root + "/k", Data: []byte("mine"), Version: s.Nodes["/k"].Version}}, nil
	})
	require.Error(t, err)
	assert.Equal(t, int32(maxApplyAttempts), attempts.Load())
	assert.Contains(t, err.Error(), "zookeeper: write "+ns.Path("/chroot/deep/cfg")+": the subtree kept changing during 4 attempts")
	assert.ErrorIs(t, err, zk.ErrBadVersion)

	// A plan's error is returned as it is; nothing is sent.
	refused := errors.New("refused")
	require.ErrorIs(t, tr.Apply(ctx, func(*TreeSnapshot) ([]any, error) { return nil, refused }), refused)
	require.NoError(t, tr.Apply(ctx, func(*TreeSnapshot) ([]any, error) { return nil, nil }))
}

func TestTreeAfterExpiryPublishesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	mustCreate(t, c, "/cfg/a", "/cfg/b")
	proxy, err := faultproxy.New(srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	// Long enough to outlast zk's one-second pause before it reconnects
	// (the second half keeps its session), short enough to expire quickly
	// behind the partition (the first half).
	tr := newTestTree(t, proxy.Addr, "/cfg", SessionTimeout(3*time.Second))
	s := snapshot(t, tr)
	sid := tr.SessionID()

	// Cut off past the session timeout; changed meanwhile.
	proxy.Partition()
	zktest.Eventually(t, 15*time.Second, func() bool {
		_, err := tr.Snapshot(shortCtx(t))
		return err != nil
	}, "the tree never noticed the partition")
	_, err = c.Set("/cfg/a", []byte("while away"), -1)
	require.NoError(t, err)
	mustCreate(t, c, "/cfg/c")
	zktest.Eventually(t, 15*time.Second, func() bool { return !srv.SessionAlive(sid) }, "the server never expired the session")
	proxy.Heal()
	s2 := awaitTree(t, tr, "the changes made while cut off", func(m map[string]string) bool {
		return m["/a"] == "while away" && m["/c"] == "v:/cfg/c"
	})
	assert.NotEqual(t, sid, tr.SessionID(), "a new session")
	assert.Equal(t, s.Revision+1, s2.Revision, "one snapshot for everything that changed")

	// A reconnection in the same session with nothing changed reads
	// everything again and publishes nothing.
	sid, rounds := tr.SessionID(), tr.Stats().Rounds
	proxy.Cut()
	zktest.Eventually(t, 15*time.Second, func() bool {
		_, err := tr.Snapshot(shortCtx(t))
		return err == nil && tr.Stats().Rounds > rounds
	}, "no read after reconnecting")
	assert.Equal(t, sid, tr.SessionID(), "the same session")
	s3 := snapshot(t, tr)
	assert.Equal(t, s2.Revision, s3.Revision, "nothing changed, nothing published")
}

// shortCtx is a context for a quick check, ended with the test.
func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

func TestTreeACLs(t *testing.T) {
	t.Parallel()
	ns := zktest.Shared(t)
	owner := ns.Connect(t, "owner:secret")
	ownerOnly := zk.DigestACL(zk.PermAll, "owner", "secret")
	_, err := owner.Create("/cfg", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = owner.Create("/cfg/open", []byte("1"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = owner.Create("/cfg/secret", []byte("2"), 0, ownerOnly)
	require.NoError(t, err)
	_, err = owner.Create("/private", nil, 0, ownerOnly)
	require.NoError(t, err)

	// A znode this client may not read is in the snapshot, with why.
	logs := &recLogger{}
	tr := newTestTreeOn(t, Options{Addrs: []string{ns.Addr}, Logger: logs}, TreeOptions{Prefix: "/cfg"})
	s := snapshot(t, tr)
	assert.Equal(t, "1", string(s.Nodes["/open"].Data))
	require.NotNil(t, s.Nodes["/secret"])
	assert.ErrorIs(t, s.Nodes["/secret"].Err, zk.ErrNoAuth)
	assert.Nil(t, s.Nodes["/secret"].Data)
	assert.Equal(t, int32(-1), s.Nodes["/secret"].Version)

	// With the credentials it reads (the subtree is open to everyone: the
	// guard is told to accept it; tree_guard_zk_test.go tests the guard).
	authed := newTestTreeOn(t, Options{Addrs: []string{ns.Addr}, Settings: []Option{Auth("digest", []byte("owner:secret"))}},
		TreeOptions{Prefix: "/cfg", OpenTree: true})
	assert.Equal(t, "2", string(snapshot(t, authed).Nodes["/secret"].Data))

	// A root this client may not read fails at once, saying why, and is
	// logged once. (Had Snapshot waited instead, it would fail after a
	// minute with the deadline, saying the root is not in sync.)
	priv := newTestTreeOn(t, Options{Addrs: []string{ns.Addr}, Logger: logs, Timeout: time.Minute}, TreeOptions{Prefix: "/private"})
	_, err = priv.Snapshot(context.Background())
	require.ErrorIs(t, err, zk.ErrNoAuth)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "a refusal does not wait for the timeout")
	private := ns.Path("/private")
	assert.Contains(t, err.Error(), "zookeeper: read "+private+": not allowed to read "+private+": its ACL does not grant READ")
	zktest.Eventually(t, 5*time.Second, func() bool { return len(logs.matching("reading "+private)) == 1 }, "refusal not logged")
}

func TestTreeInvalidOptionsAndClose(t *testing.T) {
	t.Parallel()
	tr := newTestTreeOn(t, Options{}, TreeOptions{Prefix: "no-slash"})
	_, err := tr.Snapshot(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zookeeper: prefix")
	require.Error(t, tr.Apply(context.Background(), func(*TreeSnapshot) ([]any, error) { return nil, nil }))
	require.NoError(t, tr.Close())

	ns := zktest.Shared(t)
	tr = newTestTree(t, ns.Addr, "/cfg")
	snapshot(t, tr)
	require.NoError(t, tr.Close())
	require.NoError(t, tr.Close(), "idempotent")
	_, err = tr.Snapshot(context.Background())
	require.ErrorIs(t, err, ErrClosed)
	select {
	case <-tr.Done():
	default:
		t.Fatal("Done not closed")
	}
}

func TestTreeRel(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]string{"/r": "", "/r/a": "/a", "/r/a/b": "/a/b"} {
		rel, ok := treeRel("/r", p)
		assert.True(t, ok, p)
		assert.Equal(t, want, rel, p)
	}
	for _, p := range []string{"/", "/rx", "/r/", "/other", ""} {
		_, ok := treeRel("/r", p)
		assert.False(t, ok, p)
	}
}
