package zookeeper

// Fault-injection suite (issue 4): real ZooKeeper processes, a TCP fault
// proxy between registries and servers, SIGKILLed ensemble members. Every
// scenario has a bounded duration and asserts what consumers would see.
// Figures (restore time, time to writable, events lost) are logged with
// t.Logf and collected in RELIABILITY.md.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// newProxy starts a fault proxy to target, closed when t ends.
func newProxy(t testing.TB, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(target)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// logRecorder is a registry.Logger that keeps every line, so that tests can
// check what the background loops reported.
type logRecorder struct {
	mu    sync.Mutex // guards lines
	lines []string
}

var _ logger.Logger = (*logRecorder)(nil)

func (l *logRecorder) Init(...logger.Option) error                 { return nil }
func (l *logRecorder) Options() logger.Options                     { return logger.Options{} }
func (l *logRecorder) Fields(map[string]interface{}) logger.Logger { return l }
func (l *logRecorder) String() string                              { return "recorder" }
func (l *logRecorder) Log(level logger.Level, v ...interface{})    { l.add(level, fmt.Sprint(v...)) }
func (l *logRecorder) Logf(level logger.Level, format string, v ...interface{}) {
	l.add(level, fmt.Sprintf(format, v...))
}

func (l *logRecorder) add(level logger.Level, msg string) {
	if level < logger.InfoLevel {
		return // zk's own chatter
	}
	l.mu.Lock()
	l.lines = append(l.lines, level.String()+" "+msg)
	l.mu.Unlock()
}

// count returns how many lines contain s.
func (l *logRecorder) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

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

// nodeView maps "<service>/<node-id>" to the node's payload.
type nodeView map[string]string

// viewKey names a node in a nodeView.
func viewKey(s *registry.Service) string { return s.Name + "/" + s.Nodes[0].Id }

// canonical renders a one-node service for comparison: as stored, except
// that no endpoints is always null (go-micro's copies turn null into []).
func canonical(s *registry.Service) string {
	c := *s
	if len(c.Endpoints) == 0 {
		c.Endpoints = nil
	}
	b, err := encodeNode(&c, c.Nodes[0])
	if err != nil {
		return "unencodable: " + err.Error()
	}
	return string(b)
}

// diff describes how got differs from want, "" when they are equal.
func (want nodeView) diff(got nodeView) string {
	var d []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			d = append(d, "missing "+k)
		case g != v:
			d = append(d, "stale "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "extra "+k)
		}
	}
	sort.Strings(d)
	return strings.Join(d, ", ")
}

// truth reads the registrations under root straight from ZooKeeper, of one
// service or, when service is "", of all. Znodes that are not registrations
// are left out, as readers skip them.
func truth(raw *zk.Conn, root, service string) (nodeView, error) {
	dirs := []string{escapeSegment(service)}
	if service == "" {
		var err error
		if dirs, _, err = raw.Children(root); errors.Is(err, zk.ErrNoNode) {
			return nodeView{}, nil
		} else if err != nil {
			return nil, err
		}
	}
	v := nodeView{}
	for _, dir := range dirs {
		children, _, err := raw.Children(root + "/" + dir)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, c := range children {
			data, _, err := raw.Get(root + "/" + dir + "/" + c)
			if errors.Is(err, zk.ErrNoNode) {
				continue
			} else if err != nil {
				return nil, err
			}
			if s, err := decodeNode(data); err == nil {
				v[viewKey(s)] = canonical(s)
			}
		}
	}
	return v, nil
}

// mustTruth is truth that fails t on error.
func mustTruth(t testing.TB, raw *zk.Conn, root, service string) nodeView {
	t.Helper()
	v, err := truth(raw, root, service)
	require.NoError(t, err)
	return v
}

// watchEvent is one Result a watcher returned.
type watchEvent struct {
	action string
	key    string
}

func (e watchEvent) String() string { return e.action + " " + e.key }

// watchLog consumes a watcher in the background and keeps the view its
// events imply, every event, and every event that contradicts the view (a
// create of a node already there, an update or delete of one that is not,
// a delete that does not carry the last reported node).
type watchLog struct {
	w    registry.Watcher
	done chan struct{}

	mu     sync.Mutex // guards the fields below
	view   nodeView
	events []watchEvent
	bad    []string
}

// followWatcher starts consuming w, whose starting point is initial. The
// watcher is stopped when t ends.
func followWatcher(t testing.TB, w registry.Watcher, initial nodeView) *watchLog {
	l := &watchLog{w: w, done: make(chan struct{}), view: nodeView{}}
	for k, v := range initial {
		l.view[k] = v
	}
	go l.run()
	t.Cleanup(l.stop)
	return l
}

func (l *watchLog) run() {
	defer close(l.done)
	for {
		res, err := l.w.Next()
		if err != nil {
			return
		}
		data := canonical(res.Service)
		k := viewKey(res.Service)
		l.mu.Lock()
		prev, had := l.view[k]
		switch res.Action {
		case "create":
			if had {
				l.bad = append(l.bad, "create of known "+k)
			}
			l.view[k] = data
		case "update":
			if !had {
				l.bad = append(l.bad, "update of unknown "+k)
			}
			l.view[k] = data
		case "delete":
			if !had {
				l.bad = append(l.bad, "delete of unknown "+k)
			} else if prev != data {
				l.bad = append(l.bad, "delete of "+k+" does not carry the last reported node")
			}
			delete(l.view, k)
		default:
			l.bad = append(l.bad, "unknown action "+res.Action)
		}
		l.events = append(l.events, watchEvent{res.Action, k})
		l.mu.Unlock()
	}
}

func (l *watchLog) stop() {
	l.w.Stop()
	<-l.done
}

// snapshot returns the view, the number of events so far and the
// contradictions seen.
func (l *watchLog) snapshot() (nodeView, int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := make(nodeView, len(l.view))
	for k, d := range l.view {
		v[k] = d
	}
	return v, len(l.events), slices.Clone(l.bad)
}

// eventsSince returns the events after the first n.
func (l *watchLog) eventsSince(n int) []watchEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events[n:])
}

// converge waits up to d for the watcher's view to equal want, and fails t
// if it does not or if the watcher ever contradicted itself.
func (l *watchLog) converge(t testing.TB, want nodeView, d time.Duration, name string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(d)
	for {
		got, _, bad := l.snapshot()
		require.Empty(t, bad, "%s: inconsistent events", name)
		if last = want.diff(got); last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: view differs from ZooKeeper after %v: %s", name, d, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quiet fails t if the watcher reports more than n events in total within
// d (checked at once, then until d has passed).
func (l *watchLog) quiet(t testing.TB, n int, d time.Duration, name string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, got, bad := l.snapshot()
		require.Empty(t, bad, "%s: inconsistent events", name)
		if got > n {
			t.Fatalf("%s: unexpected watch events %v", name, l.eventsSince(n))
		}
		if !time.Now().Before(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventStrings renders events sorted, for comparing as a set.
func eventStrings(evs []watchEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.String()
	}
	sort.Strings(out)
	return out
}

// waitConfirmed waits until the registry has verified and watched each
// node of s in its current session.
func waitConfirmed(t testing.TB, r *zkRegistry, s *registry.Service) {
	t.Helper()
	for _, n := range s.Nodes {
		zktest.Eventually(t, 10*time.Second, func() bool { return r.confirmed(s.Name, n.Id) }, "node %s/%s never confirmed", s.Name, n.Id)
	}
}

// nodeStats returns the stat of each node of s, by node id.
func nodeStats(t testing.TB, raw *zk.Conn, root string, s *registry.Service) map[string]*zk.Stat {
	t.Helper()
	out := map[string]*zk.Stat{}
	for _, n := range s.Nodes {
		_, st, err := raw.Get(path.Join(root, escapeSegment(s.Name), escapeSegment(n.Id)))
		require.NoError(t, err, "node %s", n.Id)
		out[n.Id] = st
	}
	return out
}

// shortContext returns a context that ends after d, or when t ends.
func shortContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// ids returns "<prefix>0" ... "<prefix>n-1".
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// ---------------------------------------------------------------------------
// Scenario 1: a short disconnect changes nothing for anyone.

func TestShortDisconnectChangesNothing(t *testing.T) {
	srv := zktest.Start(t)
	proxy := newProxy(t, srv.Addr)
	// The server hears from zk at least every sessionTimeout/3; after a cut
	// zk waits 1 s before it reconnects. The 1.5 s partition plus these
	// stays well below the timeout.
	const sessionTimeout = 8 * time.Second
	rec := &logRecorder{}
	r := newTestRegistry(t, []string{proxy.Addr}, SessionTimeout(sessionTimeout), registry.Logger(rec))
	observer := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)

	s := svc("steady", "1", ids("n", 5)...)
	require.NoError(t, r.Register(s))
	waitConfirmed(t, r, s)
	before := nodeStats(t, raw, DefaultPrefix, s)
	sid := r.sessionID()

	ow, err := observer.Watch(registry.WatchService("steady"))
	require.NoError(t, err)
	rw, err := r.Watch(registry.WatchService("steady"))
	require.NoError(t, err)
	want := mustTruth(t, raw, DefaultPrefix, "steady")
	require.Len(t, want, 5)
	observed := followWatcher(t, ow, want)
	own := followWatcher(t, rw, want)

	faults := []struct {
		name   string
		inject func()
	}{
		{"connection cut", proxy.Cut},
		// Shorter than the session timeout, longer than zk's ping interval.
		{"1.5s partition", func() { proxy.Partition(); time.Sleep(1500 * time.Millisecond); proxy.Heal() }},
	}
	for _, f := range faults {
		reconnects := rec.count("reconnected to")
		start := time.Now()
		f.inject()
		zktest.Eventually(t, sessionTimeout, func() bool { return rec.count("reconnected to") > reconnects },
			"%s: the registry never reconnected (log: %q)", f.name, rec.matching("zookeeper:"))
		t.Logf("%s: reconnected %v after the fault began, session 0x%x kept", f.name, time.Since(start).Round(time.Millisecond), sid)
		require.Equal(t, sid, r.sessionID(), "%s: the session must survive", f.name)
		require.Zero(t, rec.count("expired"), "%s: %q", f.name, rec.matching("expired"))

		// The registry serves again, and its nodes were neither deleted,
		// re-created nor rewritten.
		require.NoError(t, r.Register(s), f.name)
		got, err := r.GetService("steady")
		require.NoError(t, err, f.name)
		assert.Equal(t, ids("n", 5), nodeIDs(got), f.name)
		after := nodeStats(t, raw, DefaultPrefix, s)
		for id, st := range before {
			assert.Equal(t, st.Czxid, after[id].Czxid, "%s: node %s was re-created", f.name, id)
			assert.Equal(t, st.Mzxid, after[id].Mzxid, "%s: node %s was rewritten", f.name, id)
			assert.Equal(t, sid, after[id].EphemeralOwner, "%s: node %s changed owner", f.name, id)
		}
		// No watcher reported anything, here or behind the fault.
		observed.quiet(t, 0, 500*time.Millisecond, f.name+": observer")
		own.quiet(t, 0, 0, f.name+": own")
	}
	for _, l := range []*watchLog{observed, own} {
		v, _, _ := l.snapshot()
		assert.Empty(t, want.diff(v))
	}
}

// ---------------------------------------------------------------------------
// Scenario 2: a partition longer than the session timeout.

func TestLongPartitionRestoresNodes(t *testing.T) {
	srv := zktest.Start(t)
	proxy := newProxy(t, srv.Addr)
	const sessionTimeout = 2 * time.Second
	rec := &logRecorder{}
	r := newTestRegistry(t, []string{proxy.Addr}, SessionTimeout(sessionTimeout), registry.Logger(rec))
	observer := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)

	// r owns 20 nodes; the observer owns o0.
	owned := svc("restored", "1", ids("s", 20)...)
	require.NoError(t, r.Register(owned))
	require.NoError(t, observer.Register(svc("restored", "1", "o0")))
	waitConfirmed(t, r, owned)
	ow, err := observer.Watch(registry.WatchService("restored"))
	require.NoError(t, err)
	rw, err := r.Watch(registry.WatchService("restored"))
	require.NoError(t, err)
	start := mustTruth(t, raw, DefaultPrefix, "restored")
	require.Len(t, start, 21)
	observed := followWatcher(t, ow, start)
	own := followWatcher(t, rw, start) // behind the partition

	// s0 is updated before the partition (and both watchers see it).
	s0 := svc("restored", "1", "s0")
	s0.Nodes[0].Address = "127.0.0.1:20001"
	require.NoError(t, r.Register(s0))
	zktest.Eventually(t, 5*time.Second, func() bool {
		_, a, _ := observed.snapshot()
		_, b, _ := own.snapshot()
		return a == 1 && b == 1
	}, "update of s0 not reported")
	oldSession := r.sessionID()

	proxy.Partition()
	partitioned := time.Now()
	// s1 is updated as the partition begins: zk has not noticed yet, the
	// write cannot complete, Register reports it, and the registry keeps
	// the new data to write once it can.
	s1 := svc("restored", "1", "s1")
	s1.Nodes[0].Address = "127.0.0.1:20002"
	err = r.Register(s1, registry.RegisterContext(shortContext(t, 500*time.Millisecond)))
	require.Error(t, err, "a write cannot succeed through a partition")
	assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())

	// The session expires: the observer sees all of r's nodes go.
	zktest.Eventually(t, 5*sessionTimeout, func() bool {
		v, err := truth(raw, DefaultPrefix, "restored")
		return err == nil && len(v) == 1
	}, "r's nodes outlived its session")
	// Meanwhile the observer replaces o0 by o1: r learns of it only later.
	require.NoError(t, observer.Deregister(svc("restored", "1", "o0")))
	require.NoError(t, observer.Register(svc("restored", "1", "o1")))
	_, ownBefore, _ := own.snapshot()

	proxy.Heal()
	healed := time.Now()
	var reconnected time.Time
	for {
		if sid := r.sessionID(); sid != 0 && sid != oldSession {
			reconnected = time.Now()
			break
		}
		require.True(t, time.Since(healed) < 10*time.Second, "no new session 10s after healing")
		time.Sleep(2 * time.Millisecond)
	}
	newSession := r.sessionID()
	// Every owned node is back with its latest data, owned by the new session.
	latest := map[string][]byte{}
	for _, n := range owned.Nodes {
		b, err := encodeNode(owned, n)
		require.NoError(t, err)
		latest[n.Id] = b
	}
	latest["s0"], latest["s1"] = mustPayload(t, s0), mustPayload(t, s1)
	missing := func() []string {
		var out []string
		for id, want := range latest {
			data, st, err := raw.Get(DefaultPrefix + "/restored/" + id)
			if err != nil || st.EphemeralOwner != newSession || string(data) != string(want) {
				out = append(out, id)
			}
		}
		return out
	}
	for len(missing()) > 0 {
		require.True(t, time.Since(reconnected) < 10*time.Second, "not restored 10s after reconnecting: %v", missing())
		time.Sleep(5 * time.Millisecond)
	}
	restore := time.Since(reconnected)
	t.Logf("partition of %v (session timeout %v): new session %v after healing; %d owned nodes restored with latest data %v after reconnecting",
		healed.Sub(partitioned).Round(time.Millisecond), sessionTimeout, reconnected.Sub(healed).Round(time.Millisecond), len(latest), restore.Round(time.Millisecond))
	// Generous: the figure (a few hundred ms) is in RELIABILITY.md; here
	// the bound only catches a restore that waits for a retry backoff.
	assert.Less(t, restore, 5*time.Second, "owned nodes must be back promptly after reconnection")

	// Both watchers converge on the truth. The one behind the partition
	// reports exactly what it missed: o0 gone, o1 new, s1's new data; its
	// own nodes never flap.
	want := mustTruth(t, raw, DefaultPrefix, "restored")
	require.Len(t, want, 21)
	observed.converge(t, want, 10*time.Second, "observer")
	own.converge(t, want, 10*time.Second, "watcher behind the partition")
	own.quiet(t, ownBefore+3, 500*time.Millisecond, "watcher behind the partition")
	assert.Equal(t, []string{"create restored/o1", "delete restored/o0", "update restored/s1"}, eventStrings(own.eventsSince(ownBefore)))
	assert.Equal(t, 1, rec.count("expired; new session"), "%q", rec.matching("session"))
}

// ---------------------------------------------------------------------------
// Scenario 3: ensemble member loss.

// killLeader finds the ensemble's leader with srvr and SIGKILLs it.
func killLeader(t testing.TB, ens *zktest.Ensemble) *zktest.Server {
	t.Helper()
	leader, err := ens.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	leader.Kill()
	return leader
}

// retryUntil calls op until it succeeds, for at most d, and returns how long
// that took and the errors it returned meanwhile.
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

func TestLeaderLossKeepsRegistrations(t *testing.T) {
	ens := zktest.StartEnsemble(t, 3)
	const sessionTimeout = 8 * time.Second // longer than an election
	r := newTestRegistry(t, ens.Addrs(), SessionTimeout(sessionTimeout), registry.Timeout(2*time.Second))
	observer := newTestRegistry(t, ens.Addrs(), SessionTimeout(sessionTimeout))

	s := svc("ha", "1", "a", "b", "c")
	require.NoError(t, r.Register(s))
	waitConfirmed(t, r, s)
	w, err := observer.Watch(registry.WatchService("ha"))
	require.NoError(t, err)
	start := mustTruth(t, rawConn(t, ens.Servers[0].Addr), DefaultPrefix, "ha")
	require.Len(t, start, 3)
	observed := followWatcher(t, w, start)
	sid := r.sessionID()

	leader := killLeader(t, ens)
	// Writes are available again once a new leader is elected.
	writable, failures := retryUntil(t, 30*time.Second, "Register after leader loss", func() error {
		return r.Register(svc("ha", "1", "d"), registry.RegisterContext(shortContext(t, time.Second)))
	})
	for _, err := range failures {
		require.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), "unclear error: %v", err)
	}
	readable, _ := retryUntil(t, 30*time.Second, "GetService after leader loss", func() error {
		got, err := r.GetService("ha")
		if err == nil && len(nodeIDs(got)) != 4 {
			return fmt.Errorf("nodes %v", nodeIDs(got))
		}
		return err
	})
	newLeader, err := ens.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	require.NotEqual(t, leader.ID, newLeader.ID)
	t.Logf("leader %d SIGKILLed: Register succeeds again after %v (%d failed attempts), GetService %v later; new leader %d",
		leader.ID, writable.Round(time.Millisecond), len(failures), readable.Round(time.Millisecond), newLeader.ID)

	// No registration was lost: the session survived and the watcher
	// reports d and nothing else.
	assert.Equal(t, sid, r.sessionID(), "the session must survive a leader election shorter than its timeout")
	raw := rawConn(t, newLeader.Addr)
	want := mustTruth(t, raw, DefaultPrefix, "ha")
	assert.Len(t, want, 4)
	observed.converge(t, want, 10*time.Second, "observer")
	observed.quiet(t, 1, 300*time.Millisecond, "observer")
	assert.Equal(t, []string{"create ha/d"}, eventStrings(observed.eventsSince(0)))
}

func TestQuorumLossFailsFastAndRecovers(t *testing.T) {
	ens := zktest.StartEnsemble(t, 3)
	const timeout = time.Second
	rec := &logRecorder{}
	r := newTestRegistry(t, ens.Addrs(), SessionTimeout(10*time.Second), registry.Timeout(timeout), registry.Logger(rec))
	observer := newTestRegistry(t, ens.Addrs(), SessionTimeout(10*time.Second), registry.Logger(&logRecorder{}))
	// stuck has a long timeout: Close must still end its calls at once.
	// Its session is short: closed without quorum, it ends by expiring.
	stuck := newTestRegistry(t, ens.Addrs(), registry.Timeout(time.Minute), SessionTimeout(2*time.Second), registry.Logger(&logRecorder{}))

	require.NoError(t, r.Register(svc("quorum", "1", "a", "b")))
	require.NoError(t, stuck.Register(svc("quorum", "1", "stuck")))
	w, err := observer.Watch(registry.WatchService("quorum"))
	require.NoError(t, err)
	start, err := truth(rawConn(t, ens.Servers[0].Addr), DefaultPrefix, "quorum")
	require.NoError(t, err)
	require.Len(t, start, 3)
	observed := followWatcher(t, w, start)

	leader := killLeader(t, ens)
	var killed []*zktest.Server
	for _, s := range ens.Servers {
		if s != leader && len(killed) == 0 {
			s.Kill()
			killed = append(killed, s)
		}
	}
	killed = append(killed, leader)
	lost := time.Now()
	zktest.Eventually(t, 10*time.Second, func() bool { return rec.count("disconnected from") > 0 }, "the registry never noticed the quorum loss")

	// Every call fails within registry.Timeout with a clear error.
	calls := map[string]func() error{
		"Register":     func() error { return r.Register(svc("quorum", "1", "c")) },
		"Deregister":   func() error { return r.Deregister(svc("quorum", "1", "b")) },
		"GetService":   func() error { _, err := r.GetService("quorum"); return err },
		"ListServices": func() error { _, err := r.ListServices(); return err },
		"Watch": func() error {
			w, err := r.Watch(registry.WatchService("quorum"))
			if err == nil {
				w.Stop()
			}
			return err
		},
	}
	for name, call := range calls {
		began := time.Now()
		err := call()
		took := time.Since(began)
		require.Error(t, err, "%s without quorum", name)
		assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), "%s: unclear error %q", name, err)
		// Generous: the figure is in RELIABILITY.md; here it must only
		// be bounded by the timeout rather than hang.
		assert.Less(t, took, timeout+5*time.Second, "%s: registry.Timeout (%v) must bound the call", name, timeout)
		t.Logf("%s without quorum: failed after %v: %v", name, took.Round(time.Millisecond), err)
	}
	// Close ends a call that would wait for a minute, and the watcher.
	errc := make(chan error, 1)
	go func() { errc <- stuck.Register(svc("quorum", "1", "stuck-2")) }()
	time.Sleep(200 * time.Millisecond) // let it block
	closing := time.Now()
	require.NoError(t, stuck.Close())
	select {
	case err := <-errc:
		require.Error(t, err)
		t.Logf("Close during the outage took %v and ended a blocked Register: %v", time.Since(closing).Round(time.Millisecond), err)
	case <-time.After(5 * time.Second):
		t.Fatal("Register still blocked 5s after Close")
	}
	assert.Less(t, time.Since(closing), 3*time.Second, "Close must not hang without quorum")

	// Quorum returns: everything recovers.
	restarting := time.Now()
	for _, s := range killed {
		require.NoError(t, s.Start())
	}
	back := time.Now()
	writable, _ := retryUntil(t, 60*time.Second, "Register after quorum returned", func() error {
		return r.Register(svc("quorum", "1", "c"))
	})
	t.Logf("quorum lost for %v; the 2 members took %v to restart and serve; Register succeeds %v after that",
		restarting.Sub(lost).Round(time.Millisecond), back.Sub(restarting).Round(time.Millisecond), writable.Round(time.Millisecond))
	// The Deregister of b that failed during the outage is carried out now,
	// and Close could not reach ZooKeeper: stuck's node goes when its
	// session expires.
	zktest.Eventually(t, 15*time.Second, func() bool {
		got, err := r.GetService("quorum")
		return err == nil && slices.Equal(nodeIDs(got), []string{"a", "c"})
	}, "nodes after recovery are not a and c")
	leaderNow, err := ens.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	want := mustTruth(t, rawConn(t, leaderNow.Addr), DefaultPrefix, "quorum")
	assert.Len(t, want, 2)
	observed.converge(t, want, 20*time.Second, "observer")
	assert.Zero(t, rec.count("expired"), "the session must survive a quorum loss: %q", rec.matching("expired"))
}

// ---------------------------------------------------------------------------
// Scenario 7: Deregister racing a reconnect or an expiry.

// absentFor fails t if any of the nodes exists in ZooKeeper at any check
// during d.
func absentFor(t testing.TB, raw *zk.Conn, root, service string, nodes []string, d time.Duration, why string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, id := range nodes {
			ok, _, err := raw.Exists(root + "/" + escapeSegment(service) + "/" + escapeSegment(id))
			require.NoError(t, err)
			require.False(t, ok, "%s: deregistered node %s exists", why, id)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeregisterRacingReconnectNeverResurrects(t *testing.T) {
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)

	t.Run("during a disconnect the session survives", func(t *testing.T) {
		proxy := newProxy(t, srv.Addr)
		rec := &logRecorder{}
		r := newTestRegistry(t, []string{proxy.Addr}, SessionTimeout(4*time.Second), registry.Logger(rec))
		require.NoError(t, r.Register(svc("drain-1", "1", "keep", "gone")))
		sid := r.sessionID()
		proxy.Cut() // zk reconnects after a second
		zktest.Eventually(t, 10*time.Second, func() bool { return rec.count("disconnected from") > 0 }, "the cut went unnoticed")
		// ZooKeeper cannot be reached for this call: it fails, but the node
		// is forgotten at once and deleted as soon as the connection is back.
		err := r.Deregister(svc("drain-1", "1", "gone"), registry.DeregisterContext(shortContext(t, 300*time.Millisecond)))
		require.Error(t, err)
		zktest.Eventually(t, 10*time.Second, func() bool {
			v, err := truth(raw, DefaultPrefix, "drain-1")
			return err == nil && len(v) == 1 && v["drain-1/keep"] != ""
		}, "deregistered node not deleted after the reconnect")
		require.Equal(t, sid, r.sessionID(), "the session must survive")
		absentFor(t, raw, DefaultPrefix, "drain-1", []string{"gone"}, time.Second, "after the reconnect")
	})

	t.Run("during a partition the session expires", func(t *testing.T) {
		proxy := newProxy(t, srv.Addr)
		r := newTestRegistry(t, []string{proxy.Addr}, SessionTimeout(time.Second), registry.Logger(&logRecorder{}))
		require.NoError(t, r.Register(svc("drain-2", "1", "keep", "gone")))
		old := r.sessionID()
		proxy.Partition()
		zktest.Eventually(t, 10*time.Second, func() bool {
			v, err := truth(raw, DefaultPrefix, "drain-2")
			return err == nil && len(v) == 0
		}, "session never expired")
		err := r.Deregister(svc("drain-2", "1", "gone"), registry.DeregisterContext(shortContext(t, 300*time.Millisecond)))
		require.Error(t, err, "ZooKeeper cannot be reached")
		proxy.Heal()
		zktest.Eventually(t, 10*time.Second, func() bool {
			_, st, err := raw.Get(DefaultPrefix + "/drain-2/keep")
			return err == nil && st.EphemeralOwner != old && st.EphemeralOwner == r.sessionID()
		}, "the kept node was not restored")
		absentFor(t, raw, DefaultPrefix, "drain-2", []string{"gone"}, time.Second, "after the new session")
	})

	t.Run("racing the restore in the new session", func(t *testing.T) {
		proxy := newProxy(t, srv.Addr)
		r := newTestRegistry(t, []string{proxy.Addr}, SessionTimeout(time.Second), registry.Logger(&logRecorder{}))
		observer := newTestRegistry(t, []string{srv.Addr})
		all := svc("drain-3", "1", ids("n", 40)...)
		require.NoError(t, r.Register(all))
		keep := &registry.Service{Name: all.Name, Version: all.Version, Metadata: all.Metadata, Nodes: all.Nodes[:20]}
		gone := &registry.Service{Name: all.Name, Version: all.Version, Metadata: all.Metadata, Nodes: all.Nodes[20:]}
		for round, when := range []string{"at the heal", "at the new session"} {
			// The observer's watcher starts from what ZooKeeper holds now.
			zktest.Eventually(t, 10*time.Second, func() bool {
				got, err := observer.GetService("drain-3")
				return err == nil && len(nodeIDs(got)) == len(all.Nodes)
			}, "observer never saw all nodes")
			w, err := observer.Watch(registry.WatchService("drain-3"))
			require.NoError(t, err)
			observed := followWatcher(t, w, mustTruth(t, raw, DefaultPrefix, "drain-3"))
			old := r.sessionID()
			proxy.Partition()
			zktest.Eventually(t, 10*time.Second, func() bool {
				v, err := truth(raw, DefaultPrefix, "drain-3")
				return err == nil && len(v) == 0
			}, "%s: session never expired", when)
			proxy.Heal()
			if round == 1 {
				zktest.Eventually(t, 10*time.Second, func() bool { sid := r.sessionID(); return sid != 0 && sid != old }, "no new session")
			}
			// Deregister while the owner restores every node.
			require.NoError(t, r.Deregister(gone), when)
			for _, n := range gone.Nodes {
				ok, _, err := raw.Exists(DefaultPrefix + "/drain-3/" + n.Id)
				require.NoError(t, err)
				require.False(t, ok, "%s: %s exists after Deregister returned", when, n.Id)
			}
			zktest.Eventually(t, 10*time.Second, func() bool {
				v, err := truth(raw, DefaultPrefix, "drain-3")
				return err == nil && len(v) == len(keep.Nodes)
			}, "%s: the kept nodes were not restored", when)
			var goneIDs []string
			for _, n := range gone.Nodes {
				goneIDs = append(goneIDs, n.Id)
			}
			absentFor(t, raw, DefaultPrefix, "drain-3", goneIDs, time.Second, when)
			want := mustTruth(t, raw, DefaultPrefix, "drain-3")
			observed.converge(t, want, 10*time.Second, when+": observer")
			observed.stop()
			// Next round: the deregistered half comes back by Register.
			require.NoError(t, r.Register(gone))
		}
	})
}

// ---------------------------------------------------------------------------
// Scenario 8 and a 5-node ensemble: a stampede on an empty ensemble, then
// the loss of two members (the leader among them) with quorum kept.

func TestFiveNodeEnsembleStampedeAndMemberLoss(t *testing.T) {
	ens := zktest.StartEnsemble(t, 5)
	const n = 50
	regs := make([]*zkRegistry, n)
	for i := range regs {
		// Not connected yet: connecting is part of the stampede.
		regs[i] = newTestRegistry(t, ens.Addrs(), SessionTimeout(8*time.Second), registry.Timeout(10*time.Second), registry.Logger(&logRecorder{}))
	}
	raw := rawConn(t, ens.Servers[0].Addr)
	ok, _, err := raw.Exists(DefaultPrefix)
	require.NoError(t, err)
	require.False(t, ok, "the ensemble must start empty")

	t.Run("50 registries register the same new service at once", func(t *testing.T) {
		began := time.Now()
		errs := registerAtOnce(regs, func(i int) *registry.Service { return svc("herd", "1", fmt.Sprintf("h%02d", i)) })
		took := time.Since(began)
		for i, err := range errs {
			require.NoError(t, err, "registry %d", i)
		}
		t.Logf("%d registries connected and registered the same new service in %v", n, took.Round(time.Millisecond))
		// Each write was acknowledged by a quorum; a server outside it (the
		// one raw or a registry reads from) may apply it a moment later, as
		// ZooKeeper's followers do: wait for them to catch up.
		zktest.Eventually(t, 10*time.Second, func() bool { return len(mustTruth(t, raw, DefaultPrefix, "herd")) == n },
			"ZooKeeper does not hold the %d nodes", n)
		for i, r := range []*zkRegistry{regs[0], regs[n-1]} {
			zktest.Eventually(t, 10*time.Second, func() bool {
				got, err := r.GetService("herd")
				return err == nil && len(nodeIDs(got)) == n
			}, "registry %d does not see the %d nodes", i, n)
		}
	})

	t.Run("losing 2 of 5 members keeps every registration", func(t *testing.T) {
		w, err := regs[0].Watch(registry.WatchService("herd"))
		require.NoError(t, err)
		observed := followWatcher(t, w, mustTruth(t, raw, DefaultPrefix, "herd"))
		sessions := make([]int64, n)
		for i, r := range regs {
			sessions[i] = r.sessionID()
		}
		leader := killLeader(t, ens)
		var other *zktest.Server
		for _, s := range ens.Servers {
			if s != leader && s != ens.Servers[0] && other == nil {
				other = s
			}
		}
		other.Kill()
		writable, _ := retryUntil(t, 30*time.Second, "Register after losing 2 of 5", func() error {
			return regs[1].Register(svc("herd", "1", "late"), registry.RegisterContext(shortContext(t, time.Second)))
		})
		newLeader, err := ens.WaitLeader(30 * time.Second)
		require.NoError(t, err)
		t.Logf("leader %d and follower %d SIGKILLed: Register succeeds again after %v; new leader %d",
			leader.ID, other.ID, writable.Round(time.Millisecond), newLeader.ID)

		raw := rawConn(t, newLeader.Addr)
		want := mustTruth(t, raw, DefaultPrefix, "herd")
		assert.Len(t, want, n+1, "no registration lost")
		observed.converge(t, want, 20*time.Second, "watcher")
		observed.quiet(t, 1, 300*time.Millisecond, "watcher")
		assert.Equal(t, []string{"create herd/late"}, eventStrings(observed.eventsSince(0)))
		for i, r := range regs {
			assert.Equal(t, sessions[i], r.sessionID(), "registry %d lost its session", i)
		}
	})
}

// ---------------------------------------------------------------------------
// Bad input not covered in zookeeper_test.go (TestRegisterRejectsBadInput,
// TestForeignZnodesAreSkipped, TestCloseStopsEverything).

func TestNilEndpointsNeverPanic(t *testing.T) {
	srv := zktest.Start(t)
	rec := &logRecorder{}
	r := newTestRegistry(t, []string{srv.Addr}, registry.Logger(rec))
	raw := rawConn(t, srv.Addr)

	// Register refuses a nil endpoint, like a nil node, before dialing
	// anything.
	bad := svc("holes", "1", "n1")
	bad.Endpoints = []*registry.Endpoint{{Name: "Holes.Get"}, nil}
	err := r.Register(bad)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
	assert.Contains(t, err.Error(), "endpoint 1 is nil")

	// Another writer stores null endpoints: readers and watchers must not
	// crash on them (go-micro's copy helpers dereference every endpoint).
	w, err := r.Watch(registry.WatchService("holes"))
	require.NoError(t, err)
	defer w.Stop()
	for _, p := range []string{DefaultPrefix, DefaultPrefix + "/holes"} {
		_, err = raw.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	_, err = raw.Create(DefaultPrefix+"/holes/n1", []byte(`{"name":"holes","version":"1","endpoints":[null,{"name":"Holes.Get"}],"nodes":[{"id":"n1","address":"127.0.0.1:1"}]}`), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "n1", res.Service.Nodes[0].Id)
	got, err := r.GetService("holes")
	require.NoError(t, err)
	require.Len(t, got, 1)
	direct := newTestRegistry(t, []string{srv.Addr}, MirrorReads(false))
	got, err = direct.GetService("holes")
	require.NoError(t, err)
	require.Len(t, got, 1)
	list, err := direct.ListServices()
	require.NoError(t, err)
	require.Len(t, list, 1)
	for _, s := range append(got, list...) {
		for _, ep := range s.Endpoints {
			require.NotNil(t, ep, "nil endpoints are dropped")
		}
	}
}

func TestLargestPayloadIsStoredAndRead(t *testing.T) {
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	w, err := r.Watch(registry.WatchService("big"))
	require.NoError(t, err)
	defer w.Stop()

	// Pad the metadata so that the payload is exactly the limit.
	s := svc("big", "1", "n1")
	s.Metadata = map[string]string{"blob": ""}
	base, err := encodeNode(s, s.Nodes[0])
	require.NoError(t, err)
	limit := engine.MaxPayload("/micro-registry/big/n1", zk.WorldACL(zk.PermAll))
	s.Metadata["blob"] = strings.Repeat("x", limit-len(base))
	payload, err := encodeNode(s, s.Nodes[0])
	require.NoError(t, err)
	require.Len(t, payload, limit)

	require.NoError(t, r.Register(s), "ZooKeeper must accept the largest payload Register allows")
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Len(t, res.Service.Metadata["blob"], len(s.Metadata["blob"]))
	direct := newTestRegistry(t, []string{srv.Addr}, MirrorReads(false))
	got, err := direct.GetService("big")
	require.NoError(t, err)
	assert.Equal(t, s.Metadata, got[0].Metadata)

	// One byte more is refused before anything is sent.
	s.Metadata["blob"] += "x"
	err = r.Register(s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "over the")
	got, err = r.GetService("big")
	require.NoError(t, err)
	assert.Len(t, got[0].Metadata["blob"], limit-len(base), "the stored registration is unchanged")
}

func TestForeignZnodeTurningValidOrInvalid(t *testing.T) {
	srv := zktest.Start(t)
	rec := &logRecorder{}
	r := newTestRegistry(t, []string{srv.Addr}, registry.Logger(rec))
	raw := rawConn(t, srv.Addr)
	require.NoError(t, r.Register(svc("shifty", "1", "mine")))
	w, err := r.Watch(registry.WatchService("shifty"))
	require.NoError(t, err)
	defer w.Stop()

	p := DefaultPrefix + "/shifty/foreign"
	_, err = raw.Create(p, []byte("not json"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	zktest.Eventually(t, 5*time.Second, func() bool { return rec.count("skipping "+p) > 0 }, "junk znode not logged")
	assert.Contains(t, rec.matching("skipping " + p)[0], "not a service registration")

	// Junk that becomes a registration is a create; back to junk, a delete.
	valid := mustPayload(t, svc("shifty", "1", "foreign"))
	_, err = raw.Set(p, valid, -1)
	require.NoError(t, err)
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "foreign", res.Service.Nodes[0].Id)
	_, err = raw.Set(p, nil, -1)
	require.NoError(t, err)
	res = next(t, w, 10*time.Second)
	assert.Equal(t, "delete", res.Action)
	assert.Equal(t, "foreign", res.Service.Nodes[0].Id)
	got, err := r.GetService("shifty")
	require.NoError(t, err)
	assert.Equal(t, []string{"mine"}, nodeIDs(got))

	// A foreign child under a node znode, and a foreign persistent znode
	// squatting on a node id we then register: neither breaks anything.
	_, err = raw.Create(DefaultPrefix+"/shifty/mine/child", []byte("x"), 0, zk.WorldACL(zk.PermAll))
	require.ErrorIs(t, err, zk.ErrNoChildrenForEphemerals, "ephemeral node znodes cannot have children")
	_, err = raw.Create(DefaultPrefix+"/shifty/squatted", []byte("junk"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	require.NoError(t, r.Register(svc("shifty", "1", "squatted")))
	data, st, err := raw.Get(DefaultPrefix + "/shifty/squatted")
	require.NoError(t, err)
	assert.Equal(t, r.sessionID(), st.EphemeralOwner, "the squatter is replaced by our ephemeral node")
	assert.Equal(t, string(mustPayload(t, svc("shifty", "1", "squatted"))), string(data))
	res = next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "squatted", res.Service.Nodes[0].Id)
}

// Lookups waiting for a service's first sync are not stranded when its
// mirror entry is evicted meanwhile: with a tiny MirrorIdle and a stalled
// connection, every lookup succeeds once the stall ends (issue: "Eviction
// strands callers waiting for a sync").
func TestEvictionDoesNotStrandWaiters(t *testing.T) {
	srv := zktest.Start(t)
	writer := newTestRegistry(t, []string{srv.Addr})
	require.NoError(t, writer.Register(svc("evicted", "1", "e1")))
	proxy := newProxy(t, srv.Addr)
	r := newTestRegistry(t, []string{proxy.Addr}, MirrorIdle(time.Millisecond), registry.Timeout(5*time.Second), SessionTimeout(10*time.Second))
	_, err := r.GetService("evicted")
	require.NoError(t, err)

	// A stall shorter than the timeout: what crosses the connection in its
	// first 200 ms is held for 1.5 s.
	proxy.Delay(1500 * time.Millisecond)
	time.AfterFunc(200*time.Millisecond, func() { proxy.Delay(0) })
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.GetService("evicted")
		}()
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			t.Log(err)
		}
	}
	assert.Zero(t, failed, "lookups failed while their entry was evicted")
}

// A Register that fails because ZooKeeper is out of reach keeps its node
// and writes it once ZooKeeper is back; a refusal keeps nothing (one
// rule, documented on Register).
func TestRegisterDuringAnOutageIsWrittenWhenZooKeeperIsBack(t *testing.T) {
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	proxy := newProxy(t, srv.Addr)
	proxy.Partition()
	r := newTestRegistry(t, []string{proxy.Addr}, registry.Timeout(500*time.Millisecond))
	err := r.Register(svc("patient", "1", "p1"))
	require.Error(t, err, "no session within the timeout")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, r.engine.Registered(), "the registration is kept")
	proxy.Heal()
	zktest.Eventually(t, 20*time.Second, func() bool {
		_, st, err := raw.Get("/micro-registry/patient/p1")
		return err == nil && st.EphemeralOwner == r.sessionID()
	}, "the node was not written once ZooKeeper was back")
}

// silentListener accepts connections and never answers, as a hung server
// (or a proxy without a backend) does. It is closed when t ends.
func silentListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// A member that accepts connections and never answers must not hold the
// session back: zk would wait ten receive timeouts (about 66 s with a
// 10 s session) for its handshake before trying the next server. The
// engine bounds that wait by registry.Timeout, so every registry reaches
// the live server soon, whichever it tries first.
func TestHungMemberDoesNotHoldTheSession(t *testing.T) {
	srv := zktest.Start(t)
	hung := silentListener(t)
	const timeout = 2 * time.Second
	regs := make([]*zkRegistry, 4) // zk shuffles the servers: some try the hung one first
	for i := range regs {
		regs[i] = newTestRegistry(t, []string{hung, srv.Addr}, SessionTimeout(10*time.Second), registry.Timeout(timeout))
	}
	start := time.Now()
	var wg sync.WaitGroup
	took := make([]time.Duration, len(regs))
	for i, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took[i], _ = retryUntil(t, 30*time.Second, "register past a hung member", func() error {
				return r.Register(svc("past-hung", "1", fmt.Sprintf("n%d", i)))
			})
		}()
	}
	wg.Wait()
	t.Logf("registered past a hung member after %v (per registry: %v)", time.Since(start).Round(time.Millisecond), took)
}
