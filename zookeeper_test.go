package zookeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/util/cmd"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestInitRegistersPlugin(t *testing.T) {
	f, ok := cmd.DefaultRegistries["zookeeper"]
	require.True(t, ok, "init must register the plugin")
	r := f()
	require.NotNil(t, r)
	assert.Equal(t, "zookeeper", r.String())
	require.NoError(t, r.(*zkRegistry).Close())
}

func TestNewRegistryDoesNotDial(t *testing.T) {
	// Nothing listens on port 1; NewRegistry and Init must still return
	// at once, with no connection and no goroutine.
	r := NewRegistry(registry.Addrs("127.0.0.1:1")).(*zkRegistry)
	require.NoError(t, r.Init(registry.Addrs("127.0.0.1:2"), registry.Timeout(300*time.Millisecond)))
	assert.False(t, r.engine.Dialed())

	start := time.Now()
	err := r.Register(svc("s", "1", "n1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zookeeper: register service \"s\"")
	assert.Contains(t, err.Error(), "127.0.0.1:2")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second, "registry.Timeout must bound the wait")
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
}

func TestRegisterGetDeregister(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})

	_, err := r.GetService("greeter")
	require.ErrorIs(t, err, registry.ErrNotFound)

	require.NoError(t, r.Register(svc("greeter", "1.0.0", "a", "b")))
	require.NoError(t, r.Register(svc("greeter", "2.0.0", "c")))

	got, err := r.GetService("greeter")
	require.NoError(t, err)
	require.Len(t, got, 2)
	byVersion := map[string]*registry.Service{}
	for _, s := range got {
		byVersion[s.Version] = s
	}
	assert.Equal(t, []string{"a", "b"}, nodeIDs([]*registry.Service{byVersion["1.0.0"]}))
	assert.Equal(t, []string{"c"}, nodeIDs([]*registry.Service{byVersion["2.0.0"]}))
	assert.Equal(t, "core", byVersion["1.0.0"].Metadata["team"])
	assert.Equal(t, "ha", byVersion["1.0.0"].Nodes[0].Metadata["host"])

	// Results are copies: changing them does not change the registry.
	got[0].Nodes = nil
	again, err := r.GetService("greeter")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, nodeIDs(again))

	require.NoError(t, r.Deregister(svc("greeter", "1.0.0", "a", "b")))
	require.NoError(t, r.Deregister(svc("greeter", "2.0.0", "c")))
	zktest.Eventually(t, 5*time.Second, func() bool {
		_, err := r.GetService("greeter")
		return errors.Is(err, registry.ErrNotFound)
	}, "service still found after deregistering every node")

	// Deregistering what is not there is not an error.
	require.NoError(t, r.Deregister(svc("greeter", "1.0.0", "a")))
	require.NoError(t, r.Deregister(svc("never", "1", "x")))
}

func TestWireLayoutMatchesOldPlugin(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)

	s := svc("go.micro.srv.greeter", "latest", "greeter-1")
	s.Endpoints = []*registry.Endpoint{{Name: "Greeter.Hello", Request: &registry.Value{Name: "Request", Type: "Request"}}}
	require.NoError(t, r.Register(s))

	// The old plugin stores json.Marshal of the service with one node at
	// /micro-registry/<name>/<id>.
	want, err := json.Marshal(&registry.Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Endpoints: s.Endpoints, Nodes: s.Nodes})
	require.NoError(t, err)
	data, stat, err := raw.Get("/micro-registry/go.micro.srv.greeter/greeter-1")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(data))
	assert.Equal(t, r.sessionID(), stat.EphemeralOwner, "node znodes are ephemeral, owned by the registry's session")

	// (That service directories are containers is TestContainerDirectoryIsRemovedWhenEmpty.)
	_, rootStat, err := raw.Get("/micro-registry")
	require.NoError(t, err)
	assert.Zero(t, rootStat.EphemeralOwner, "the prefix is persistent")

	// A registration written the old plugin's way (persistent, by another
	// client) is discovered.
	_, err = raw.Create("/micro-registry/go.micro.srv.greeter/old-1", mustJSON(t, svc("go.micro.srv.greeter", "latest", "old-1")), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	zktest.Eventually(t, 5*time.Second, func() bool {
		got, err := r.GetService("go.micro.srv.greeter")
		return err == nil && strings.Join(nodeIDs(got), ",") == "greeter-1,old-1"
	}, "old plugin's registration not discovered")
}

func mustJSON(t testing.TB, s *registry.Service) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return b
}

func TestEscapedNamesRoundTrip(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)
	names := []string{"a/b", "..", "100%", "x\x01y", "ünï.cødé"}
	for _, name := range names {
		require.NoError(t, r.Register(svc(name, "1", "id/"+name)), name)
	}
	for _, name := range names {
		got, err := r.GetService(name)
		require.NoError(t, err, name)
		require.Len(t, got, 1)
		assert.Equal(t, name, got[0].Name)
		assert.Equal(t, "id/"+name, got[0].Nodes[0].Id)
	}
	ok, _, err := raw.Exists("/micro-registry/a%2Fb/id%2Fa%2Fb")
	require.NoError(t, err)
	assert.True(t, ok, "'/' is escaped as %%2F")
}

func TestContainerDirectoryIsRemovedWhenEmpty(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)
	require.NoError(t, r.Register(svc("short-lived", "1", "n1")))
	require.NoError(t, r.Deregister(svc("short-lived", "1", "n1")))
	// zktest servers check containers every second.
	zktest.Eventually(t, 15*time.Second, func() bool {
		ok, _, err := raw.Exists("/micro-registry/short-lived")
		return err == nil && !ok
	}, "empty service directory not removed")
	// And registering again recreates it.
	require.NoError(t, r.Register(svc("short-lived", "1", "n1")))
	_, err := r.GetService("short-lived")
	require.NoError(t, err)
}

func TestRegisterRejectsBadInput(t *testing.T) {
	r := NewRegistry(registry.Addrs("127.0.0.1:1")).(*zkRegistry)
	defer r.Close()
	huge := svc("big", "1", "n1")
	huge.Metadata = map[string]string{"blob": strings.Repeat("x", 2<<20)}
	// Just under the limit with a short path; over it with a 300 KB name.
	longName := svc(strings.Repeat("n", 300<<10), "1", "n1")
	longName.Metadata = map[string]string{"blob": strings.Repeat("x", 1<<20-200<<10)}
	// An endpoint value nested 6,000 deep encodes, but no reader decodes it.
	v := &registry.Value{Name: "leaf"}
	for i := 0; i < 6000; i++ {
		v = &registry.Value{Name: "v", Values: []*registry.Value{v}}
	}
	deep := svc("deep", "1", "n1")
	deep.Endpoints = []*registry.Endpoint{{Name: "E", Request: v}}
	badMeta := svc("s", "1", "n1")
	badMeta.Nodes[0].Metadata["k"] = "\xff"
	tests := []struct {
		name string
		svc  *registry.Service
		want string
	}{
		{"nil service", nil, "service is nil"},
		{"empty name", &registry.Service{Nodes: []*registry.Node{{Id: "x"}}}, "name is empty"},
		{"no nodes", &registry.Service{Name: "s"}, "has no nodes"},
		{"nil node", &registry.Service{Name: "s", Nodes: []*registry.Node{nil}}, "node 0 is nil"},
		{"empty id", &registry.Service{Name: "s", Nodes: []*registry.Node{{Address: "a"}}}, "empty id"},
		{"duplicate id", svc("s", "1", "x", "x"), "appears twice"},
		{"payload over 1 MiB", huge, "over the"},
		{"path over 1 MiB with the payload", longName, "with the path"},
		{"nesting no reader decodes", deep, "could not be read back"},
		{"name not UTF-8", svc("bad\xffname", "1", "n1"), "not valid UTF-8"},
		{"id not UTF-8", svc("s", "1", "n\xfe1"), "not valid UTF-8"},
		{"metadata not UTF-8", badMeta, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Register(tt.svc)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			assert.Contains(t, err.Error(), tt.want)
			assert.Less(t, len(err.Error()), 1000, "errors stay short: %.200s", err)
			if tt.svc == nil || len(tt.svc.Nodes) == 0 || tt.svc.Nodes[0] == nil || tt.svc.Nodes[0].Id == "" || tt.name == "duplicate id" {
				require.Error(t, r.Deregister(tt.svc))
			}
		})
	}
	_, err := r.GetService("")
	require.Error(t, err)
	// None of this dialed.
	assert.False(t, r.engine.Dialed())
}

func TestReRegisterUnchangedCostsNoWrite(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)
	s := svc("steady", "1", "n1")
	require.NoError(t, r.Register(s))
	p := "/micro-registry/steady/n1"
	// Wait for the registry to have verified and watched its node.
	zktest.Eventually(t, 5*time.Second, func() bool { return r.confirmed("steady", "n1") }, "node never confirmed")

	before := serverZxid(t, srv)
	for i := 0; i < 5; i++ {
		require.NoError(t, r.Register(s))
	}
	assert.Equal(t, before, serverZxid(t, srv), "re-registering an unchanged node wrote to ZooKeeper")

	// A changed node is updated in place: same znode, next version.
	_, st1, err := raw.Get(p)
	require.NoError(t, err)
	changed := svc("steady", "1", "n1")
	changed.Nodes[0].Address = "127.0.0.1:20000"
	require.NoError(t, r.Register(changed))
	data, st2, err := raw.Get(p)
	require.NoError(t, err)
	assert.Equal(t, st1.Czxid, st2.Czxid, "updated in place, not re-created")
	assert.Equal(t, st1.Version+1, st2.Version)
	assert.Contains(t, string(data), "127.0.0.1:20000")
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

func TestNodeDeletedByHandIsRestored(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)
	s := svc("guarded", "1", "n1")
	require.NoError(t, r.Register(s))
	zktest.Eventually(t, 5*time.Second, func() bool { return r.confirmed("guarded", "n1") }, "node never confirmed")

	require.NoError(t, raw.Delete("/micro-registry/guarded/n1", -1))
	deleted := time.Now()
	zktest.Eventually(t, 5*time.Second, func() bool {
		data, st, err := raw.Get("/micro-registry/guarded/n1")
		return err == nil && st.EphemeralOwner == r.sessionID() && string(data) == string(mustPayload(t, s))
	}, "node deleted by hand was not restored")
	t.Logf("node deleted by hand restored after %v", time.Since(deleted).Round(time.Millisecond))

	// Re-registering after the node vanished writes it again (the old
	// plugin skipped it because the hash had not changed).
	r.engine.Unconfirm("guarded", "n1") // as if the watch had not fired yet
	require.NoError(t, r.Deregister(s))
	require.NoError(t, r.Register(s))
	ok, _, err := raw.Exists("/micro-registry/guarded/n1")
	require.NoError(t, err)
	assert.True(t, ok)
}

func mustPayload(t testing.TB, s *registry.Service) []byte {
	t.Helper()
	b, err := encodeNode(s, s.Nodes[0])
	require.NoError(t, err)
	return b
}

func TestDeregisterLeavesOthersNodes(t *testing.T) {
	srv := zktest.Start(t)
	a := newTestRegistry(t, []string{srv.Addr})
	b := newTestRegistry(t, []string{srv.Addr})
	require.NoError(t, a.Register(svc("shared", "1", "n1")))
	// b never registered n1: its Deregister must not delete a's node.
	require.NoError(t, b.Deregister(svc("shared", "1", "n1")))
	got, err := b.GetService("shared")
	require.NoError(t, err)
	assert.Equal(t, []string{"n1"}, nodeIDs(got))
}

func TestCrashedProcessDisappears(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	direct := newTestRegistry(t, []string{srv.Addr}, MirrorReads(false))
	raw := rawConn(t, srv.Addr)
	w, err := r.Watch(registry.WatchService("crashy"))
	require.NoError(t, err)
	defer w.Stop()

	const sessionTimeout = 2 * time.Second
	c, _ := startChild(t, "register", []string{
		"ZK_ADDR=" + srv.Addr, "ZK_SERVICE=crashy", "ZK_NODE=c1", "ZK_SESSION_TIMEOUT=" + sessionTimeout.String(),
	})
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	_, err = direct.GetService("crashy")
	require.NoError(t, err)

	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	// Every observer loses the node within the session timeout plus a small
	// margin: ZooKeeper itself, a watcher, and GetService without the mirror.
	const margin = time.Second
	watcherGone := make(chan time.Duration, 1)
	go func() {
		res, err := nextWithin(w, sessionTimeout+5*time.Second)
		if err != nil || res.Action != "delete" || res.Service.Nodes[0].Id != "c1" {
			watcherGone <- -1
			return
		}
		watcherGone <- time.Since(killed)
	}()
	var inZK, inGet time.Duration
	for inZK == 0 || inGet == 0 {
		if ok, _, err := raw.Exists("/micro-registry/crashy/c1"); inZK == 0 && err == nil && !ok {
			inZK = time.Since(killed)
		}
		if _, err := direct.GetService("crashy"); inGet == 0 && errors.Is(err, registry.ErrNotFound) {
			inGet = time.Since(killed)
		}
		require.Less(t, time.Since(killed), sessionTimeout+5*time.Second, "crashed node still visible")
		time.Sleep(10 * time.Millisecond)
	}
	inWatch := <-watcherGone
	require.Positive(t, inWatch, "the watcher did not report the crashed node's delete")
	t.Logf("crashed node gone after %v in ZooKeeper, %v for GetService, %v for a watcher (session timeout %v)",
		inZK.Round(time.Millisecond), inGet.Round(time.Millisecond), inWatch.Round(time.Millisecond), sessionTimeout)
	for _, d := range []time.Duration{inZK, inGet, inWatch} {
		assert.LessOrEqual(t, d, sessionTimeout+margin, "gone later than the session timeout plus %v", margin)
	}
}

func TestRestartWithinSessionTimeoutKeepsNewRegistration(t *testing.T) {
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	const sessionTimeout = 2 * time.Second
	c, line := startChild(t, "register", []string{
		"ZK_ADDR=" + srv.Addr, "ZK_SERVICE=phoenix", "ZK_NODE=p1", "ZK_SESSION_TIMEOUT=" + sessionTimeout.String(),
	})
	require.True(t, strings.HasPrefix(line, "REGISTERED 0x"), "child: %s", line)
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	_, st, err := raw.Get("/micro-registry/phoenix/p1")
	require.NoError(t, err, "the crashed process's node is still there")
	require.Equal(t, line, fmt.Sprintf("REGISTERED 0x%x", st.EphemeralOwner), "owned by the crashed process's session")

	// The restarted process registers the same node id while the dead
	// session still owns it.
	r := newTestRegistry(t, []string{srv.Addr}, SessionTimeout(sessionTimeout))
	require.NoError(t, r.Register(svc("phoenix", "1.0.0", "p1")))
	_, st, err = raw.Get("/micro-registry/phoenix/p1")
	require.NoError(t, err)
	require.Equal(t, r.sessionID(), st.EphemeralOwner, "registration must be owned by the new session (old: %s)", line)

	// The old session's expiry must not take the new registration down.
	oldSession := strings.TrimPrefix(line, "REGISTERED ")
	expired := func() bool {
		out, err := zktest.FourLetter(srv.Addr, "dump")
		sessions, _, _ := strings.Cut(out, "ephemeral nodes dump:")
		return err == nil && strings.Contains(sessions, "SessionTracker dump:") && !strings.Contains(sessions, oldSession)
	}
	require.False(t, expired(), "the old session %s must still be alive when the restarted process registers", oldSession)
	zktest.Eventually(t, 2*sessionTimeout+5*time.Second, expired, "old session %s never expired", oldSession)
	_, st, err = raw.Get("/micro-registry/phoenix/p1")
	require.NoError(t, err, "registration lost when the old session expired")
	assert.Equal(t, r.sessionID(), st.EphemeralOwner)
}

func TestWatchServiceBeforeItExists(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	w, err := r.Watch(registry.WatchService("late"))
	require.NoError(t, err)
	defer w.Stop()

	other := newTestRegistry(t, []string{srv.Addr})
	require.NoError(t, other.Register(svc("late", "1", "l1")))
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "late", res.Service.Name)
	require.Len(t, res.Service.Nodes, 1)
	assert.Equal(t, "l1", res.Service.Nodes[0].Id)

	// Another service does not show up in this watcher.
	require.NoError(t, other.Register(svc("unrelated", "1", "u1")))
	noEvent(t, w, 500*time.Millisecond)
}

func TestWatchAllSeesLaterServices(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	other := newTestRegistry(t, []string{srv.Addr})
	require.NoError(t, other.Register(svc("early", "1", "e1")))

	w, err := r.Watch()
	require.NoError(t, err)
	defer w.Stop()
	noEvent(t, w, 300*time.Millisecond) // what existed before Watch is the starting point

	for _, name := range []string{"later-1", "later-2"} {
		require.NoError(t, other.Register(svc(name, "1", name+"-n")))
		res := next(t, w, 10*time.Second)
		assert.Equal(t, "create", res.Action)
		assert.Equal(t, name, res.Service.Name)
	}
	require.NoError(t, other.Deregister(svc("early", "1", "e1")))
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "delete", res.Action)
	assert.Equal(t, "e1", res.Service.Nodes[0].Id)
}

func TestWatchEventsAreExactPerNode(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	w, err := r.Watch(registry.WatchService("exact"))
	require.NoError(t, err)
	defer w.Stop()

	require.NoError(t, r.Register(svc("exact", "1", "a", "b")))
	seen := map[string]string{}
	for i := 0; i < 2; i++ {
		res := next(t, w, 10*time.Second)
		require.Len(t, res.Service.Nodes, 1, "each result holds exactly the affected node")
		seen[res.Service.Nodes[0].Id] = res.Action
	}
	assert.Equal(t, map[string]string{"a": "create", "b": "create"}, seen)

	upd := svc("exact", "1", "a")
	upd.Nodes[0].Address = "127.0.0.1:31000"
	require.NoError(t, r.Register(upd))
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "update", res.Action)
	assert.Equal(t, "127.0.0.1:31000", res.Service.Nodes[0].Address)

	// A node moving to a new version is a delete of the old and a create
	// of the new, as go-micro's cache groups nodes by version.
	require.NoError(t, r.Register(svc("exact", "2", "b")))
	res = next(t, w, 10*time.Second)
	assert.Equal(t, "delete", res.Action)
	assert.Equal(t, "1", res.Service.Version)
	res = next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "2", res.Service.Version)

	require.NoError(t, r.Deregister(upd))
	res = next(t, w, 10*time.Second)
	assert.Equal(t, "delete", res.Action)
	assert.Equal(t, "127.0.0.1:31000", res.Service.Nodes[0].Address, "delete carries the last known node")
}

func TestForeignZnodesAreSkipped(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)
	require.NoError(t, r.Register(svc("mixed", "1", "good")))
	w, err := r.Watch()
	require.NoError(t, err)
	defer w.Stop()

	junk := map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello"),
		"array":     []byte(`[1,2,3]`),
		"no-nodes":  []byte(`{"name":"mixed","version":"1","nodes":[]}`),
		"two-nodes": []byte(`{"name":"mixed","nodes":[{"id":"x"},{"id":"y"}]}`),
		"no-name":   []byte(`{"nodes":[{"id":"x"}]}`),
		"huge":      []byte(`{"name":"mixed","x":"` + strings.Repeat("z", 900<<10) + `"}`),
	}
	for name, data := range junk {
		_, err := raw.Create("/micro-registry/mixed/"+name, data, 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err, name)
	}
	_, err = raw.Create("/micro-registry/mixed/parent", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = raw.Create("/micro-registry/mixed/parent/child", []byte("x"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = raw.Create("/micro-registry/junk-dir", []byte("not a service"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)

	noEvent(t, w, time.Second)
	got, err := r.GetService("mixed")
	require.NoError(t, err)
	assert.Equal(t, []string{"good"}, nodeIDs(got))
	list, err := r.ListServices()
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "mixed", list[0].Name)

	// Without the mirror, the same.
	direct := newTestRegistry(t, []string{srv.Addr}, MirrorReads(false))
	got, err = direct.GetService("mixed")
	require.NoError(t, err)
	assert.Equal(t, []string{"good"}, nodeIDs(got))
	list, err = direct.ListServices()
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func TestConcurrentFirstRegistration(t *testing.T) {
	srv := zktest.Start(t)
	const n = 20
	regs := make([]*zkRegistry, n)
	for i := range regs {
		regs[i] = newTestRegistry(t, []string{srv.Addr})
	}
	errs := registerAtOnce(regs, func(i int) *registry.Service { return svc("stampede", "1", "n"+string(rune('a'+i))) })
	for i, err := range errs {
		require.NoError(t, err, "registry %d", i)
	}
	got, err := regs[0].GetService("stampede")
	require.NoError(t, err)
	assert.Len(t, nodeIDs(got), n)
}

func TestListServicesSortedAndGrouped(t *testing.T) {
	srv := zktest.Start(t)
	for _, mirror := range []bool{true, false} {
		r := newTestRegistry(t, []string{srv.Addr}, MirrorReads(mirror), Prefix("/list-"+map[bool]string{true: "m", false: "d"}[mirror]))
		require.NoError(t, r.Register(svc("zeta", "1", "z1")))
		require.NoError(t, r.Register(svc("alpha", "2", "a2")))
		require.NoError(t, r.Register(svc("alpha", "1", "a1", "a1b")))
		list, err := r.ListServices()
		require.NoError(t, err)
		var names []string
		for _, s := range list {
			names = append(names, s.Name+"@"+s.Version)
		}
		assert.Equal(t, []string{"alpha@1", "alpha@2", "zeta@1"}, names, "mirror=%v", mirror)
		assert.Len(t, list[0].Nodes, 2)
		// Registered after the first listing: still listed.
		require.NoError(t, r.Register(svc("beta", "1", "b1")))
		zktest.Eventually(t, 5*time.Second, func() bool {
			list, err := r.ListServices()
			return err == nil && len(list) == 4 && list[2].Name == "beta"
		}, "new service not listed (mirror=%v)", mirror)
	}
}

func TestWatcherStopAndContext(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})

	// Stop unblocks a blocked Next.
	w, err := r.Watch(registry.WatchService("quiet"))
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { _, err := w.Next(); errc <- err }()
	time.Sleep(100 * time.Millisecond)
	w.Stop()
	w.Stop()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, registry.ErrWatcherStopped)
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not unblock Next")
	}
	_, err = w.Next()
	assert.ErrorIs(t, err, registry.ErrWatcherStopped)

	// Cancelling WatchContext stops it.
	ctx, cancel := context.WithCancel(context.Background())
	w2, err := r.Watch(registry.WatchService("quiet"), registry.WatchContext(ctx))
	require.NoError(t, err)
	cancel()
	_, err = nextWithin(w2, 5*time.Second)
	assert.ErrorIs(t, err, registry.ErrWatcherStopped)

	// Stop under load: many watchers, churn, stopped while events flow.
	var ws []registry.Watcher
	for i := 0; i < 10; i++ {
		w, err := r.Watch()
		require.NoError(t, err)
		ws = append(ws, w)
	}
	stopChurn := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		for i := 0; ; i++ {
			select {
			case <-stopChurn:
				return
			default:
			}
			s := svc("churn", "1", "c"+string(rune('a'+i%5)))
			_ = r.Register(s)
			_ = r.Deregister(s)
		}
	}()
	var readers sync.WaitGroup
	for _, w := range ws {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				if _, err := w.Next(); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	for _, w := range ws {
		w.Stop()
	}
	readers.Wait()
	close(stopChurn)
	churn.Wait()
	assert.Zero(t, r.engine.Stats().Watchers, "stopped watchers stay subscribed")
}

func TestCloseStopsEverything(t *testing.T) {
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	r := NewRegistry(registry.Addrs(srv.Addr)).(*zkRegistry)
	require.NoError(t, r.Register(svc("closing", "1", "n1")))
	w, err := r.Watch()
	require.NoError(t, err)

	require.NoError(t, r.Close())
	_, err = w.Next()
	assert.ErrorIs(t, err, registry.ErrWatcherStopped)
	ok, _, err := raw.Exists("/micro-registry/closing/n1")
	require.NoError(t, err)
	assert.False(t, ok, "Close ends the session, which deletes its nodes at once")

	assert.ErrorIs(t, r.Register(svc("closing", "1", "n1")), engine.ErrClosed)
	assert.ErrorIs(t, r.Deregister(svc("closing", "1", "n1")), engine.ErrClosed)
	_, err = r.GetService("closing")
	assert.ErrorIs(t, err, engine.ErrClosed)
	_, err = r.ListServices()
	assert.ErrorIs(t, err, engine.ErrClosed)
	_, err = r.Watch()
	assert.ErrorIs(t, err, engine.ErrClosed)
	assert.ErrorIs(t, r.Init(), engine.ErrClosed)
	require.NoError(t, r.Close())
}

func TestInitWithNewAddressesMovesRegistrations(t *testing.T) {
	a := zktest.Start(t)
	b := zktest.Start(t)
	rawA, rawB := rawConn(t, a.Addr), rawConn(t, b.Addr)
	r := newTestRegistry(t, []string{a.Addr})
	require.NoError(t, r.Register(svc("mover", "1", "m1")))

	require.NoError(t, r.Init(registry.Addrs(b.Addr)))
	zktest.Eventually(t, 10*time.Second, func() bool {
		ok, _, err := rawB.Exists("/micro-registry/mover/m1")
		return err == nil && ok
	}, "registration not moved to the new servers")
	ok, _, err := rawA.Exists("/micro-registry/mover/m1")
	require.NoError(t, err)
	assert.False(t, ok, "the old connection must be closed")

	// Init with the same addresses keeps the connection.
	sid := r.sessionID()
	require.NoError(t, r.Init(registry.Addrs(b.Addr), registry.Timeout(3*time.Second)))
	assert.Equal(t, sid, r.sessionID())
	assert.Error(t, r.Init(registry.Timeout(-1)), "invalid options are refused")
	assert.Equal(t, 3*time.Second, r.Options().Timeout, "a refused Init changes nothing")
}

func TestSessionExpiryRestoresRegistrations(t *testing.T) {
	srv := zktest.Start(t)
	proxy, err := faultproxy.New(srv.Addr)
	require.NoError(t, err)
	defer proxy.Close()

	const sessionTimeout = 1 * time.Second
	r := newTestRegistry(t, []string{proxy.Addr}, SessionTimeout(sessionTimeout))
	observer := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)

	require.NoError(t, r.Register(svc("survivor", "1", "s1", "s2")))
	w, err := observer.Watch(registry.WatchService("survivor"))
	require.NoError(t, err)
	defer w.Stop()
	// r also watches through the partition: it must converge afterwards.
	rw, err := r.Watch(registry.WatchService("survivor"))
	require.NoError(t, err)
	defer rw.Stop()
	oldSession := r.sessionID()

	proxy.Partition()
	// The server expires the session: the observer sees both nodes go.
	for i := 0; i < 2; i++ {
		res := next(t, w, 10*sessionTimeout)
		assert.Equal(t, "delete", res.Action)
	}
	// Meanwhile another process registers a node r will only learn of
	// after the partition.
	require.NoError(t, observer.Register(svc("survivor", "1", "o1")))
	proxy.Heal()

	for i := 0; i < 2; i++ {
		res := next(t, w, 15*time.Second)
		assert.Equal(t, "create", res.Action)
	}
	assert.NotEqual(t, oldSession, r.sessionID())
	for _, id := range []string{"s1", "s2"} {
		_, st, err := raw.Get("/micro-registry/survivor/" + id)
		require.NoError(t, err)
		assert.Equal(t, r.sessionID(), st.EphemeralOwner)
	}
	// r's own watcher saw no delete of its own nodes it could not see, and
	// learns of o1.
	res := next(t, rw, 15*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "o1", res.Service.Nodes[0].Id)
}

func TestRegistryFlagSelectsPlugin(t *testing.T) {
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	for _, how := range []string{"flags", "env"} {
		t.Run(how, func(t *testing.T) {
			name := "flagged-" + how
			env := []string{"ZK_SERVICE=" + name}
			var args []string
			if how == "flags" {
				args = []string{"--registry=zookeeper", "--registry_address=" + srv.Addr}
			} else {
				env = append(env, "MICRO_REGISTRY=zookeeper", "MICRO_REGISTRY_ADDRESS="+srv.Addr)
			}
			c, _ := startChild(t, "micro", env, args...)
			zktest.Eventually(t, 30*time.Second, func() bool {
				ch, _, err := raw.Children("/micro-registry/" + name)
				return err == nil && len(ch) == 1
			}, "go-micro service with --registry=zookeeper did not register")
			// go-micro deregisters on SIGTERM.
			require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
			zktest.Eventually(t, 15*time.Second, func() bool {
				ch, _, err := raw.Children("/micro-registry/" + name)
				return (err == nil && len(ch) == 0) || errors.Is(err, zk.ErrNoNode)
			}, "service did not deregister on SIGTERM")
		})
	}
}

// A WatchContext that is already cancelled stops the watcher at once; the
// race detector checks the hook that stops it (issue: "Data race in Watch
// with an already-cancelled registry.WatchContext").
func TestWatchWithCancelledContext(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		w, err := r.Watch(registry.WatchService("cancelled"), registry.WatchContext(ctx))
		if err != nil {
			continue // stopped while subscribing: also fine
		}
		_, err = nextWithin(w, 5*time.Second)
		require.ErrorIs(t, err, registry.ErrWatcherStopped)
	}
	zktest.Eventually(t, 5*time.Second, func() bool { return r.engine.Stats().Watchers == 0 }, "cancelled watchers stay subscribed")
}

// Every error says "zookeeper: " once, at its start.
func TestErrorsArePrefixedOnce(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr}, registry.Timeout(300*time.Millisecond))
	unreachable := NewRegistry(registry.Addrs("127.0.0.1:1"), registry.Timeout(200*time.Millisecond))
	defer unreachable.(*zkRegistry).Close()
	invalid := NewRegistry(SessionTimeout(time.Nanosecond))
	defer invalid.(*zkRegistry).Close()
	closed := NewRegistry(registry.Addrs(srv.Addr))
	require.NoError(t, closed.(*zkRegistry).Close())

	var errs []error
	add := func(err error) { require.Error(t, err); errs = append(errs, err) }
	add(r.Register(&registry.Service{Name: "x"}))
	_, err := r.GetService("")
	add(err)
	add(unreachable.Register(svc("s", "1", "n")))
	_, err = unreachable.Watch()
	add(err)
	_, err = invalid.ListServices()
	add(err)
	add(invalid.Init(Prefix("x")))
	_, err = closed.Watch()
	add(err)
	add(closed.Init())
	add(closed.Deregister(svc("s", "1", "n")))
	for _, err := range errs {
		msg := err.Error()
		assert.True(t, strings.HasPrefix(msg, "zookeeper: "), msg)
		assert.Equal(t, 1, strings.Count(msg, "zookeeper: "), "prefix repeated: %s", msg)
	}
}

// The server clamps the session timeout asked for; the session knows what
// it was granted.
func TestNegotiatedSessionTimeout(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr}, SessionTimeout(time.Millisecond))
	s, err := r.engine.Session(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2*zktest.TickTime, s.NegotiatedTimeout(), "raised to the server's minimum of 2 ticks")
	assert.Equal(t, srv.Addr, s.Server())
}
