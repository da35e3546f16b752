package engine

// The Registry against a real ZooKeeper: registration, lookups, watches,
// sessions, crashes and restarts, foreign znodes, Init and Close.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestRegisterGetDeregister(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})

	_, err := r.GetService(ctx, "greeter")
	require.ErrorIs(t, err, ErrNotFound)

	require.NoError(t, r.Register(ctx, svc("greeter", "1.0.0", "a", "b")))
	require.NoError(t, r.Register(ctx, svc("greeter", "2.0.0", "c")))

	got, err := r.GetService(ctx, "greeter")
	require.NoError(t, err)
	require.Len(t, got, 2)
	byVersion := map[string]*Service{}
	for _, s := range got {
		byVersion[s.Version] = s
	}
	assert.Equal(t, []string{"a", "b"}, nodeIDs([]*Service{byVersion["1.0.0"]}))
	assert.Equal(t, []string{"c"}, nodeIDs([]*Service{byVersion["2.0.0"]}))
	assert.Equal(t, "core", byVersion["1.0.0"].Metadata["team"])
	assert.Equal(t, "ha", byVersion["1.0.0"].Nodes[0].Metadata["host"])

	require.NoError(t, r.Deregister(ctx, svc("greeter", "1.0.0", "a", "b")))
	require.NoError(t, r.Deregister(ctx, svc("greeter", "2.0.0", "c")))
	zktest.Eventually(t, 5*time.Second, func() bool {
		_, err := r.GetService(ctx, "greeter")
		return errors.Is(err, ErrNotFound)
	}, "service still found after deregistering every node")

	// Deregistering what is not there is not an error.
	require.NoError(t, r.Deregister(ctx, svc("greeter", "1.0.0", "a")))
	require.NoError(t, r.Deregister(ctx, svc("never", "1", "x")))
}

func TestEscapedNamesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	raw := rawConn(t, srv.Addr)
	names := []string{"a/b", "..", "100%", "x\x01y", "ünï.cødé"}
	for _, name := range names {
		require.NoError(t, r.Register(ctx, svc(name, "1", "id/"+name)), name)
	}
	for _, name := range names {
		got, err := r.GetService(ctx, name)
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
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	raw := rawConn(t, srv.Addr)
	require.NoError(t, r.Register(ctx, svc("short-lived", "1", "n1")))
	require.NoError(t, r.Deregister(ctx, svc("short-lived", "1", "n1")))
	// zktest servers check containers every second.
	zktest.Eventually(t, 15*time.Second, func() bool {
		ok, _, err := raw.Exists("/micro-registry/short-lived")
		return err == nil && !ok
	}, "empty service directory not removed")
	// And registering again recreates it.
	require.NoError(t, r.Register(ctx, svc("short-lived", "1", "n1")))
	_, err := r.GetService(ctx, "short-lived")
	require.NoError(t, err)
}

func TestReRegisterUnchangedCostsNoWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	raw := rawConn(t, srv.Addr)
	s := svc("steady", "1", "n1")
	require.NoError(t, r.Register(ctx, s))
	p := "/micro-registry/steady/n1"
	// Wait for the registry to have verified and watched its node.
	waitConfirmed(t, r, s)

	before := serverZxid(t, srv)
	for i := 0; i < 5; i++ {
		require.NoError(t, r.Register(ctx, s))
	}
	assert.Equal(t, before, serverZxid(t, srv), "re-registering an unchanged node wrote to ZooKeeper")

	// A changed node is updated in place: same znode, next version.
	_, st1, err := raw.Get(p)
	require.NoError(t, err)
	changed := svc("steady", "1", "n1")
	changed.Nodes[0].Address = "127.0.0.1:20000"
	require.NoError(t, r.Register(ctx, changed))
	data, st2, err := raw.Get(p)
	require.NoError(t, err)
	assert.Equal(t, st1.Czxid, st2.Czxid, "updated in place, not re-created")
	assert.Equal(t, st1.Version+1, st2.Version)
	assert.Contains(t, string(data), "127.0.0.1:20000")
}

func TestNodeDeletedByHandIsRestored(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	raw := rawConn(t, srv.Addr)
	s := svc("guarded", "1", "n1")
	require.NoError(t, r.Register(ctx, s))
	waitConfirmed(t, r, s)

	require.NoError(t, raw.Delete("/micro-registry/guarded/n1", -1))
	deleted := time.Now()
	zktest.Eventually(t, 5*time.Second, func() bool {
		data, st, err := raw.Get("/micro-registry/guarded/n1")
		return err == nil && st.EphemeralOwner == peekSessionID(r) && string(data) == string(mustPayload(t, s))
	}, "node deleted by hand was not restored")
	t.Logf("node deleted by hand restored after %v", time.Since(deleted).Round(time.Millisecond))

	// Re-registering after the node vanished writes it again (the old
	// plugin skipped it because the hash had not changed).
	forgetConfirmed(r, "guarded", "n1") // as if the watch had not fired yet
	require.NoError(t, r.Deregister(ctx, s))
	require.NoError(t, r.Register(ctx, s))
	ok, _, err := raw.Exists("/micro-registry/guarded/n1")
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestDeregisterLeavesOthersNodes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	a := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	b := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	require.NoError(t, a.Register(ctx, svc("shared", "1", "n1")))
	// b never registered n1: its Deregister must not delete a's node.
	require.NoError(t, b.Deregister(ctx, svc("shared", "1", "n1")))
	got, err := b.GetService(ctx, "shared")
	require.NoError(t, err)
	assert.Equal(t, []string{"n1"}, nodeIDs(got))
}

func TestCrashedProcessDisappears(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	direct := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Settings: []Option{MirrorReads(false)}})
	raw := rawConn(t, srv.Addr)
	w, err := r.Watch(ctx, "crashy", nil)
	require.NoError(t, err)
	defer w.Stop()

	const sessionTimeout = 2 * time.Second
	c, _ := startChild(t, "register",
		"ZK_ADDR="+srv.Addr, "ZK_SERVICE=crashy", "ZK_NODE=c1", "ZK_SESSION_TIMEOUT="+sessionTimeout.String())
	e := nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionCreate, e.Action)
	_, err = direct.GetService(ctx, "crashy")
	require.NoError(t, err)

	c.kill(t)
	killed := time.Now()
	// Every observer loses the node within the session timeout plus a
	// margin: ZooKeeper itself, a watcher, and GetService without the
	// mirror. ZooKeeper expires a session within a tick (200 ms) of its
	// timeout; the margin is ten times that.
	const margin = 2 * time.Second
	const giveUp = sessionTimeout + 15*time.Second
	watcherGone := make(chan time.Duration, 1)
	go func() {
		e, err := nextEventWithin(w, giveUp)
		if err != nil || e.Action != ActionDelete || e.Service.Nodes[0].Id != "c1" {
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
		if _, err := direct.GetService(ctx, "crashy"); inGet == 0 && errors.Is(err, ErrNotFound) {
			inGet = time.Since(killed)
		}
		require.Less(t, time.Since(killed), giveUp, "crashed node still visible")
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
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	// Long enough, many times over, for the restarted process to register
	// while the dead one's session lives.
	const sessionTimeout = 4 * time.Second
	c, line := startChild(t, "register",
		"ZK_ADDR="+srv.Addr, "ZK_SERVICE=phoenix", "ZK_NODE=p1", "ZK_SESSION_TIMEOUT="+sessionTimeout.String())
	require.True(t, strings.HasPrefix(line, "REGISTERED 0x"), "child: %s", line)
	c.kill(t)
	_, st, err := raw.Get("/micro-registry/phoenix/p1")
	require.NoError(t, err, "the crashed process's node is still there")
	require.Equal(t, line, fmt.Sprintf("REGISTERED 0x%x", st.EphemeralOwner), "owned by the crashed process's session")

	// The restarted process registers the same node id while the dead
	// session still owns it.
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Settings: []Option{SessionTimeout(sessionTimeout)}})
	require.NoError(t, r.Register(ctx, svc("phoenix", "1.0.0", "p1")))
	_, st, err = raw.Get("/micro-registry/phoenix/p1")
	require.NoError(t, err)
	require.Equal(t, peekSessionID(r), st.EphemeralOwner, "registration must be owned by the new session (old: %s)", line)

	// The old session's expiry must not take the new registration down.
	oldSession := strings.TrimPrefix(line, "REGISTERED ")
	expired := func() bool {
		out, err := zktest.FourLetter(srv.Addr, "dump")
		sessions, _, _ := strings.Cut(out, "ephemeral nodes dump:")
		return err == nil && strings.Contains(sessions, "SessionTracker dump:") && !strings.Contains(sessions, oldSession)
	}
	require.False(t, expired(), "the old session %s must still be alive when the restarted process registers", oldSession)
	zktest.Eventually(t, 2*sessionTimeout+15*time.Second, expired, "old session %s never expired", oldSession)
	_, st, err = raw.Get("/micro-registry/phoenix/p1")
	require.NoError(t, err, "registration lost when the old session expired")
	assert.Equal(t, peekSessionID(r), st.EphemeralOwner)
}

func TestWatchServiceBeforeItExists(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	w, err := r.Watch(ctx, "late", nil)
	require.NoError(t, err)
	defer w.Stop()

	other := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	require.NoError(t, other.Register(ctx, svc("late", "1", "l1")))
	e := nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionCreate, e.Action)
	assert.Equal(t, "late", e.Service.Name)
	require.Len(t, e.Service.Nodes, 1)
	assert.Equal(t, "l1", e.Service.Nodes[0].Id)

	// Another service does not show up in this watcher.
	require.NoError(t, other.Register(ctx, svc("unrelated", "1", "u1")))
	noEvent(t, w, 500*time.Millisecond)
}

func TestWatchAllSeesLaterServices(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	other := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	require.NoError(t, other.Register(ctx, svc("early", "1", "e1")))

	w, err := r.Watch(ctx, "", nil)
	require.NoError(t, err)
	defer w.Stop()
	noEvent(t, w, 300*time.Millisecond) // what existed before Watch is the starting point

	for _, name := range []string{"later-1", "later-2"} {
		require.NoError(t, other.Register(ctx, svc(name, "1", name+"-n")))
		e := nextEvent(t, w, 10*time.Second)
		assert.Equal(t, ActionCreate, e.Action)
		assert.Equal(t, name, e.Service.Name)
	}
	require.NoError(t, other.Deregister(ctx, svc("early", "1", "e1")))
	e := nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionDelete, e.Action)
	assert.Equal(t, "e1", e.Service.Nodes[0].Id)
}

func TestWatchEventsAreExactPerNode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	w, err := r.Watch(ctx, "exact", nil)
	require.NoError(t, err)
	defer w.Stop()

	require.NoError(t, r.Register(ctx, svc("exact", "1", "a", "b")))
	seen := map[string]string{}
	for i := 0; i < 2; i++ {
		e := nextEvent(t, w, 10*time.Second)
		require.Len(t, e.Service.Nodes, 1, "each event holds exactly the affected node")
		seen[e.Service.Nodes[0].Id] = e.Action
	}
	assert.Equal(t, map[string]string{"a": ActionCreate, "b": ActionCreate}, seen)

	upd := svc("exact", "1", "a")
	upd.Nodes[0].Address = "127.0.0.1:31000"
	require.NoError(t, r.Register(ctx, upd))
	e := nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionUpdate, e.Action)
	assert.Equal(t, "127.0.0.1:31000", e.Service.Nodes[0].Address)

	// A node moving to a new version is a delete of the old and a create
	// of the new, as go-micro's cache groups nodes by version.
	require.NoError(t, r.Register(ctx, svc("exact", "2", "b")))
	e = nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionDelete, e.Action)
	assert.Equal(t, "1", e.Service.Version)
	e = nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionCreate, e.Action)
	assert.Equal(t, "2", e.Service.Version)

	require.NoError(t, r.Deregister(ctx, upd))
	e = nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionDelete, e.Action)
	assert.Equal(t, "127.0.0.1:31000", e.Service.Nodes[0].Address, "delete carries the last known node")
}

func TestForeignZnodesAreSkipped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	raw := rawConn(t, srv.Addr)
	require.NoError(t, r.Register(ctx, svc("mixed", "1", "good")))
	w, err := r.Watch(ctx, "", nil)
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
	got, err := r.GetService(ctx, "mixed")
	require.NoError(t, err)
	assert.Equal(t, []string{"good"}, nodeIDs(got))
	list, err := r.ListServices(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "mixed", list[0].Name)

	// Without the mirror, the same.
	direct := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Settings: []Option{MirrorReads(false)}})
	got, err = direct.GetService(ctx, "mixed")
	require.NoError(t, err)
	assert.Equal(t, []string{"good"}, nodeIDs(got))
	list, err = direct.ListServices(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func TestConcurrentFirstRegistration(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	const n = 20
	regs := make([]*Registry, n)
	for i := range regs {
		// 20 sessions at once on two shared CPUs: a generous timeout.
		regs[i] = newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 15 * time.Second})
	}
	errs := registerAtOnce(t.Context(), regs, func(i int) *Service { return svc("stampede", "1", "n"+string(rune('a'+i))) })
	for i, err := range errs {
		require.NoError(t, err, "registry %d", i)
	}
	got, err := regs[0].GetService(t.Context(), "stampede")
	require.NoError(t, err)
	assert.Len(t, nodeIDs(got), n)
}

func TestListServicesSortedAndGrouped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	for _, mirror := range []bool{true, false} {
		prefix := "/list-" + map[bool]string{true: "m", false: "d"}[mirror]
		r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Settings: []Option{MirrorReads(mirror), Prefix(prefix)}})
		require.NoError(t, r.Register(ctx, svc("zeta", "1", "z1")))
		require.NoError(t, r.Register(ctx, svc("alpha", "2", "a2")))
		require.NoError(t, r.Register(ctx, svc("alpha", "1", "a1", "a1b")))
		list, err := r.ListServices(ctx)
		require.NoError(t, err)
		var names []string
		for _, s := range list {
			names = append(names, s.Name+"@"+s.Version)
		}
		assert.Equal(t, []string{"alpha@1", "alpha@2", "zeta@1"}, names, "mirror=%v", mirror)
		assert.Len(t, list[0].Nodes, 2)
		// Registered after the first listing: still listed.
		require.NoError(t, r.Register(ctx, svc("beta", "1", "b1")))
		zktest.Eventually(t, 5*time.Second, func() bool {
			list, err := r.ListServices(ctx)
			return err == nil && len(list) == 4 && list[2].Name == "beta"
		}, "new service not listed (mirror=%v)", mirror)
	}
}

func TestWatcherStopAndContext(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})

	// Stop unblocks a blocked Next.
	w, err := r.Watch(ctx, "quiet", nil)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { _, err := w.Next(); errc <- err }()
	time.Sleep(100 * time.Millisecond) // let Next block (it is also fine if it has not yet)
	w.Stop()
	w.Stop()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, ErrWatcherStopped)
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not unblock Next")
	}
	_, err = w.Next()
	assert.ErrorIs(t, err, ErrWatcherStopped)

	// Ending the stop context stops it.
	stopCtx, cancel := context.WithCancel(context.Background())
	w2, err := r.Watch(stopCtx, "quiet", stopCtx)
	require.NoError(t, err)
	cancel()
	_, err = nextEventWithin(w2, 5*time.Second)
	assert.ErrorIs(t, err, ErrWatcherStopped)

	// Stop under load: many watchers, churn, stopped while events flow.
	var ws []*Watcher
	for i := 0; i < 10; i++ {
		w, err := r.Watch(ctx, "", nil)
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
			_ = r.Register(ctx, s)
			_ = r.Deregister(ctx, s)
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
	time.Sleep(500 * time.Millisecond) // let events flow
	for _, w := range ws {
		w.Stop()
	}
	readers.Wait()
	close(stopChurn)
	churn.Wait()
	assert.Zero(t, r.Stats().Watchers, "stopped watchers stay subscribed")
}

// A stop context that is already cancelled stops the watcher at once; the
// race detector checks the hook that stops it (issue: "Data race in Watch
// with an already-cancelled registry.WatchContext").
func TestWatchWithCancelledContext(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	for i := 0; i < 20; i++ {
		// As the faces pass registry.WatchContext: for the call and to stop.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		w, err := r.Watch(ctx, "cancelled", ctx)
		if err != nil {
			continue // stopped while subscribing: also fine
		}
		_, err = nextEventWithin(w, 5*time.Second)
		require.ErrorIs(t, err, ErrWatcherStopped)
	}
	zktest.Eventually(t, 5*time.Second, func() bool { return r.Stats().Watchers == 0 }, "cancelled watchers stay subscribed")
}

func TestCloseStopsEverything(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	r := NewRegistry(Options{Addrs: []string{srv.Addr}})
	require.NoError(t, r.Register(ctx, svc("closing", "1", "n1")))
	w, err := r.Watch(ctx, "", nil)
	require.NoError(t, err)

	require.NoError(t, r.Close())
	_, err = w.Next()
	assert.ErrorIs(t, err, ErrWatcherStopped)
	ok, _, err := raw.Exists("/micro-registry/closing/n1")
	require.NoError(t, err)
	assert.False(t, ok, "Close ends the session, which deletes its nodes at once")

	assert.ErrorIs(t, r.Register(ctx, svc("closing", "1", "n1")), ErrClosed)
	assert.ErrorIs(t, r.Deregister(ctx, svc("closing", "1", "n1")), ErrClosed)
	_, err = r.GetService(ctx, "closing")
	assert.ErrorIs(t, err, ErrClosed)
	_, err = r.ListServices(ctx)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = r.Watch(ctx, "", nil)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, r.Init(Options{Addrs: []string{srv.Addr}}), ErrClosed)
	require.NoError(t, r.Close())
}

func TestInitWithNewAddressesMovesRegistrations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := zktest.Start(t)
	b := zktest.Start(t)
	rawA, rawB := rawConn(t, a.Addr), rawConn(t, b.Addr)
	o := Options{Addrs: []string{a.Addr}, Settings: []Option{SessionTimeout(testSessionTimeout)}}
	r := newTestRegistry(t, o)
	require.NoError(t, r.Register(ctx, svc("mover", "1", "m1")))

	o.Addrs = []string{b.Addr}
	require.NoError(t, r.Init(o))
	zktest.Eventually(t, 10*time.Second, func() bool {
		ok, _, err := rawB.Exists("/micro-registry/mover/m1")
		return err == nil && ok
	}, "registration not moved to the new servers")
	ok, _, err := rawA.Exists("/micro-registry/mover/m1")
	require.NoError(t, err)
	assert.False(t, ok, "the old connection must be closed")

	// Init with the same addresses keeps the connection.
	sid := peekSessionID(r)
	o.Timeout = 3 * time.Second
	require.NoError(t, r.Init(o))
	assert.Equal(t, sid, peekSessionID(r))
	bad := o
	bad.Timeout = -1
	assert.Error(t, r.Init(bad), "invalid options are refused")
	cfg, err := r.Config()
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, cfg.Timeout(), "a refused Init changes nothing")
}

func TestSessionExpiryRestoresRegistrations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	proxy, err := faultproxy.New(srv.Addr)
	require.NoError(t, err)
	defer proxy.Close()

	const sessionTimeout = 1 * time.Second
	r := newTestRegistry(t, Options{Addrs: []string{proxy.Addr}, Settings: []Option{SessionTimeout(sessionTimeout)}})
	observer := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	raw := rawConn(t, srv.Addr)

	require.NoError(t, r.Register(ctx, svc("survivor", "1", "s1", "s2")))
	w, err := observer.Watch(ctx, "survivor", nil)
	require.NoError(t, err)
	defer w.Stop()
	// r also watches through the partition: it must converge afterwards.
	rw, err := r.Watch(ctx, "survivor", nil)
	require.NoError(t, err)
	defer rw.Stop()
	oldSession := peekSessionID(r)

	proxy.Partition()
	// The server expires the session: the observer sees both nodes go.
	for i := 0; i < 2; i++ {
		e := nextEvent(t, w, 10*sessionTimeout)
		assert.Equal(t, ActionDelete, e.Action)
	}
	// Meanwhile another process registers a node r will only learn of
	// after the partition.
	require.NoError(t, observer.Register(ctx, svc("survivor", "1", "o1")))
	proxy.Heal()

	for i := 0; i < 2; i++ {
		e := nextEvent(t, w, 15*time.Second)
		assert.Equal(t, ActionCreate, e.Action)
	}
	assert.NotEqual(t, oldSession, peekSessionID(r))
	for _, id := range []string{"s1", "s2"} {
		_, st, err := raw.Get("/micro-registry/survivor/" + id)
		require.NoError(t, err)
		assert.Equal(t, peekSessionID(r), st.EphemeralOwner)
	}
	// r's own watcher saw no delete of its own nodes it could not see, and
	// learns of o1.
	e := nextEvent(t, rw, 15*time.Second)
	assert.Equal(t, ActionCreate, e.Action)
	assert.Equal(t, "o1", e.Service.Nodes[0].Id)
}

// Every error says "zookeeper: " once, at its start.
func TestErrorsArePrefixedOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 300 * time.Millisecond})
	unreachable := NewRegistry(Options{Addrs: []string{"127.0.0.1:1"}, Timeout: 200 * time.Millisecond})
	defer unreachable.Close()
	invalid := NewRegistry(Options{Settings: []Option{SessionTimeout(time.Nanosecond)}})
	defer invalid.Close()
	closed := NewRegistry(Options{Addrs: []string{srv.Addr}})
	require.NoError(t, closed.Close())

	var errs []error
	add := func(err error) { require.Error(t, err); errs = append(errs, err) }
	add(r.Register(ctx, &Service{Name: "x"}))
	_, err := r.GetService(ctx, "")
	add(err)
	add(unreachable.Register(ctx, svc("s", "1", "n")))
	_, err = unreachable.Watch(ctx, "", nil)
	add(err)
	_, err = invalid.ListServices(ctx)
	add(err)
	add(invalid.Init(Options{Settings: []Option{SessionTimeout(time.Nanosecond), Prefix("x")}}))
	_, err = closed.Watch(ctx, "", nil)
	add(err)
	add(closed.Init(Options{}))
	add(closed.Deregister(ctx, svc("s", "1", "n")))
	for _, err := range errs {
		msg := err.Error()
		assert.True(t, strings.HasPrefix(msg, "zookeeper: "), msg)
		assert.Equal(t, 1, strings.Count(msg, "zookeeper: "), "prefix repeated: %s", msg)
	}
}

// The server clamps the session timeout asked for; the session knows what
// it was granted.
func TestNegotiatedSessionTimeout(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: time.Minute, Settings: []Option{SessionTimeout(time.Millisecond)}})
	s, err := r.Session(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 2*zktest.TickTime, s.NegotiatedTimeout(), "raised to the server's minimum of 2 ticks")
	assert.Equal(t, srv.Addr, s.Server())
}
