package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// recLogger keeps log lines.
type recLogger struct {
	mu    sync.Mutex // guards lines
	lines []string
}

func (l *recLogger) Logf(level Level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level.String()+" "+fmt.Sprintf(format, args...))
}

func (l *recLogger) matching(s string) []string {
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

// ownerHarness runs an owner over a fake ZooKeeper session.
type ownerHarness struct {
	t      *testing.T
	zk     *fakeZK
	o      *owner
	cfg    Config
	sess   atomic.Pointer[fakeSession]
	logs   *recLogger
	counts *counters
	wg     sync.WaitGroup
}

func newOwnerHarness(t *testing.T, f *fakeZK, sid int64, opts ...Option) *ownerHarness {
	t.Helper()
	cfg, err := NewConfig(Options{Settings: opts})
	require.NoError(t, err)
	h := &ownerHarness{t: t, zk: f, cfg: cfg, logs: &recLogger{}, counts: &counters{}}
	h.o = newOwner(ownerDeps{format: microFormat, sessions: h, writes: noOwnWrites{}, edits: noEdits{}, counts: h.counts})
	h.newSession(sid)
	h.o.start(func(f func()) {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			f()
		}()
	})
	t.Cleanup(func() {
		h.o.queue.ShutDown()
		h.wg.Wait()
	})
	return h
}

// The harness is its owner's ownerSessions.

func (h *ownerHarness) begin(context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

func (h *ownerHarness) znodes(context.Context) (znodes, error) { return h.sess.Load(), nil }

func (h *ownerHarness) logger() Logger { return h.logs }

func (h *ownerHarness) done() <-chan struct{} { return nil }

// noOwnWrites is an owner's ownWrites without a mirror.
type noOwnWrites struct{}

func (noOwnWrites) ownWrite(nodeRef) {}

// newSession gives the harness session sid, as after an expiry.
func (h *ownerHarness) newSession(sid int64) {
	prev := h.sess.Load()
	h.sess.Store(h.zk.session(sid, h.cfg, func(e zk.Event) { h.o.onEvent(h.cfg, e) }))
	if prev != nil {
		h.o.newSession(prev.sid)
	}
}

func (h *ownerHarness) sid() int64 { return h.sess.Load().sid }

func (h *ownerHarness) register(service, id, data string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return h.o.register(ctx, h.sess.Load(), service, id, []byte(data))
}

func (h *ownerHarness) deregister(service, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return h.o.deregister(ctx, h.sess.Load(), service, id)
}

// settled waits until the owner has no work left.
func (h *ownerHarness) settled() {
	h.t.Helper()
	zktest.Eventually(h.t, 5*time.Second, func() bool {
		return h.o.queue.Len() == 0 && h.o.queue.Workers() == 0
	}, "owner never settled")
}

func (h *ownerHarness) confirmed(service, id string) bool {
	h.o.mu.Lock()
	defer h.o.mu.Unlock()
	n := h.o.nodes[refOf(service, id).key()]
	return n != nil && n.confirmed == h.sid()
}

const nodeP = "/micro-registry/greeter/n1"

func TestOwnerRegisterCreatesConfirmsAndCostsNothingAgain(t *testing.T) {
	f := newFakeZK()
	h := newOwnerHarness(t, f, 0xa)
	require.NoError(t, h.register("greeter", "n1", "A"))
	h.settled()
	data, owner, ok := f.node(nodeP)
	require.True(t, ok)
	assert.Equal(t, "A", string(data))
	assert.Equal(t, int64(0xa), owner)
	assert.True(t, h.confirmed("greeter", "n1"))

	writes := f.writesBy(0xa)
	for i := 0; i < 10; i++ {
		require.NoError(t, h.register("greeter", "n1", "A"))
	}
	h.settled()
	assert.Equal(t, writes, f.writesBy(0xa), "an unchanged, confirmed node costs no write")

	require.NoError(t, h.register("greeter", "n1", "A2"))
	h.settled()
	data, _, _ = f.node(nodeP)
	assert.Equal(t, "A2", string(data))
}

func TestOwnerTakesOverAPredecessor(t *testing.T) {
	for name, holder := range map[string]int64{"dead session": 0xdead, "persistent (older plugin)": 0} {
		t.Run(name, func(t *testing.T) {
			f := newFakeZK()
			f.put(holder, nodeP, []byte("OLD"))
			h := newOwnerHarness(t, f, 0xa)
			require.NoError(t, h.register("greeter", "n1", "NEW"))
			h.settled()
			data, owner, _ := f.node(nodeP)
			assert.Equal(t, "NEW", string(data))
			assert.Equal(t, int64(0xa), owner)
		})
	}
}

func TestOwnerRestoresANodeDeletedOrChangedByOthers(t *testing.T) {
	f := newFakeZK()
	h := newOwnerHarness(t, f, 0xa)
	require.NoError(t, h.register("greeter", "n1", "A"))
	h.settled()

	f.remove(nodeP)
	zktest.Eventually(t, 5*time.Second, func() bool { d, o, ok := f.node(nodeP); return ok && o == 0xa && string(d) == "A" }, "deleted node not restored")

	// A persistent node written over ours by hand (the older plugin) is
	// a predecessor: replaced.
	f.put(0, nodeP, []byte("HAND"))
	zktest.Eventually(t, 5*time.Second, func() bool { d, o, ok := f.node(nodeP); return ok && o == 0xa && string(d) == "A" }, "node overwritten by hand not restored")
}

// Two live registrations of one service and node id must not replace each
// other forever (issue: "Two live owners of one node id fight forever").
func TestOwnerYieldsToALiveContender(t *testing.T) {
	f := newFakeZK()
	a := newOwnerHarness(t, f, 0xa)
	b := newOwnerHarness(t, f, 0xb)

	require.NoError(t, a.register("greeter", "n1", "A"))
	a.settled()
	// B starts with the same id: for B, A's node is a predecessor's.
	require.NoError(t, b.register("greeter", "n1", "B"))
	a.settled()
	b.settled()
	data, owner, _ := f.node(nodeP)
	assert.Equal(t, "B", string(data))
	assert.Equal(t, int64(0xb), owner, "the newcomer holds the node")

	lost := a.logs.matching("taken over by session 0xb")
	require.Len(t, lost, 1, "A logs the loss once, naming the node and the other session")
	assert.Contains(t, lost[0], nodeP)
	assert.True(t, strings.HasPrefix(lost[0], "error "), lost[0])

	// go-micro re-registers every 30 s: A's Register fails and writes
	// nothing; B's costs nothing.
	aw, bw := f.writesBy(0xa), f.writesBy(0xb)
	for i := 0; i < 20; i++ {
		err := a.register("greeter", "n1", "A")
		var held *heldError
		require.ErrorAs(t, err, &held)
		assert.Contains(t, err.Error(), "0xb")
		require.NoError(t, b.register("greeter", "n1", "B"))
	}
	a.settled()
	b.settled()
	assert.Equal(t, aw, f.writesBy(0xa), "the registration that lost the node writes nothing more")
	assert.Equal(t, bw, f.writesBy(0xb))
	assert.Len(t, a.logs.matching("taken over"), 1, "logged once")
	data, owner, _ = f.node(nodeP)
	assert.Equal(t, "B", string(data))
	assert.Equal(t, int64(0xb), owner)

	// B goes: A, still registered, takes its node back.
	require.NoError(t, b.deregister("greeter", "n1"))
	zktest.Eventually(t, 5*time.Second, func() bool { d, o, ok := f.node(nodeP); return ok && o == 0xa && string(d) == "A" }, "A never registered again after B left")
	a.settled()
	assert.NoError(t, a.register("greeter", "n1", "A"))
}

func TestOwnerYieldsAfterItsSessionExpired(t *testing.T) {
	f := newFakeZK()
	a := newOwnerHarness(t, f, 0xa)
	require.NoError(t, a.register("greeter", "n1", "A"))
	a.settled()

	// A's session expires; B registers the id meanwhile; A gets a new
	// session and restores: B is alive, A yields.
	f.expire(0xa)
	b := newOwnerHarness(t, f, 0xb)
	require.NoError(t, b.register("greeter", "n1", "B"))
	a.newSession(0xa2)
	a.settled()
	_, owner, _ := f.node(nodeP)
	assert.Equal(t, int64(0xb), owner)
	assert.Len(t, a.logs.matching("taken over by session 0xb"), 1)
}

func TestOwnerTakesBackANodeOfItsOwnEarlierSession(t *testing.T) {
	f := newFakeZK()
	a := newOwnerHarness(t, f, 0xa)
	require.NoError(t, a.register("greeter", "n1", "A"))
	a.settled()
	// A new session before ZooKeeper processed the old one's end: the
	// node still belongs to 0xa, which is A's own predecessor.
	a.newSession(0xa2)
	a.settled()
	_, owner, _ := f.node(nodeP)
	assert.Equal(t, int64(0xa2), owner)
	assert.Empty(t, a.logs.matching("taken over"))
	assert.Equal(t, uint64(1), a.counts.restoredNodes.Load())
}

func TestOwnerRestoresEveryNodeInANewSession(t *testing.T) {
	f := newFakeZK()
	a := newOwnerHarness(t, f, 0xa)
	for i := 0; i < 50; i++ {
		require.NoError(t, a.register("svc", fmt.Sprintf("n%d", i), "A"))
	}
	require.NoError(t, a.deregister("svc", "n0"))
	a.settled()
	f.expire(0xa)
	a.newSession(0xa2)
	a.settled()
	got := f.pathsUnder("/micro-registry/svc")
	assert.Len(t, got, 49)
	for _, p := range got {
		_, owner, _ := f.node(p)
		assert.Equal(t, int64(0xa2), owner, p)
	}
	assert.Equal(t, uint64(49), a.counts.restoredNodes.Load())
	assert.Equal(t, 49, a.o.heldCount())
}

func TestOwnerDeregisterDeletesOnlyItsOwn(t *testing.T) {
	f := newFakeZK()
	a := newOwnerHarness(t, f, 0xa)
	f.put(0xb, "/micro-registry/greeter/other", []byte("B"))
	require.NoError(t, a.deregister("greeter", "other"))
	_, _, ok := f.node("/micro-registry/greeter/other")
	assert.True(t, ok, "another session's node is left alone")

	require.NoError(t, a.register("greeter", "n1", "A"))
	require.NoError(t, a.deregister("greeter", "n1"))
	a.settled()
	_, _, ok = f.node(nodeP)
	assert.False(t, ok)
	assert.Equal(t, 0, a.o.count())
}

func TestOwnerRefusalIsNotRetried(t *testing.T) {
	// The fake does not enforce ACLs; a refusal it can make is an open
	// directory, which the owner checks with credentials.
	f := newFakeZK()
	b := newOwnerHarness(t, f, 0xb, Auth("digest", []byte("svc:pw")))
	f.put(0, "/micro-registry/open", nil) // world ALL, as anyone could create it
	err := b.register("open", "n1", "B")
	var dir *dirError
	require.ErrorAs(t, err, &dir)
	b.settled()
	assert.Equal(t, 0, b.o.count(), "a refused registration is not kept")
	_, _, ok := f.node("/micro-registry/open/n1")
	assert.False(t, ok, "the node written into an open directory is taken out again")
}

func TestDirGuard(t *testing.T) {
	me := Auth("digest", []byte("svc:pw"))
	myID := zk.DigestACL(zk.PermAll, "svc", "pw")[0]
	other := zk.DigestACL(zk.PermAll, "mallory", "x")[0]
	worldRead := zk.ACL{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}
	tests := []struct {
		name   string
		opts   []Option
		dirACL []zk.ACL // nil: the registry creates the directory
		bad    string   // in the error; "" accepted; "NoAuth": ZooKeeper refuses the create itself
	}{
		{"created by the registry", []Option{me}, nil, ""},
		{"own credentials, world read", []Option{me}, []zk.ACL{myID, worldRead}, ""},
		{"world writable", []Option{me}, zk.WorldACL(zk.PermAll), "world:anyone:cdrwa"},
		{"world may create", []Option{me}, []zk.ACL{myID, {Perms: zk.PermRead | zk.PermCreate, Scheme: "world", ID: "anyone"}}, "world:anyone:cr"},
		{"other digest user, world may create", []Option{me}, []zk.ACL{other, {Perms: zk.PermRead | zk.PermCreate, Scheme: "world", ID: "anyone"}}, "mallory"},
		{"other digest user, no create for us", []Option{me}, []zk.ACL{other, worldRead}, "NoAuth"},
		{"OpenDirs accepts", []Option{me, OpenDirs(true)}, zk.WorldACL(zk.PermAll), ""},
		{"DirACL names the identity", []Option{me, DirACL(other, myID, worldRead)}, []zk.ACL{other, myID, worldRead}, ""},
		{"DirACL with fewer permissions", []Option{me, DirACL(zk.ACL{Perms: zk.PermRead | zk.PermCreate, Scheme: other.Scheme, ID: other.ID})}, []zk.ACL{other, {Perms: zk.PermCreate, Scheme: myID.Scheme, ID: myID.ID}}, "mallory"},
		{"no credentials: nothing to protect", nil, zk.WorldACL(zk.PermAll), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeZK()
			if tt.dirACL != nil {
				f.put(0, "/micro-registry/payments", nil, tt.dirACL...) // created first, by anyone
			}
			h := newOwnerHarness(t, f, 0xa, tt.opts...)
			err := h.register("payments", "n1", "A")
			h.settled()
			_, _, present := f.node("/micro-registry/payments/n1")
			if tt.bad == "" {
				require.NoError(t, err)
				assert.True(t, present)
				return
			}
			if tt.bad == "NoAuth" {
				require.ErrorIs(t, err, zk.ErrNoAuth)
				assert.Contains(t, err.Error(), "does not grant CREATE")
				assert.False(t, present)
				return
			}
			var dir *dirError
			require.ErrorAs(t, err, &dir)
			assert.Contains(t, err.Error(), "/micro-registry/payments")
			assert.Contains(t, err.Error(), tt.bad)
			assert.Contains(t, err.Error(), "OpenDirs")
			assert.NotContains(t, err.Error(), "pw", "no secret in the error")
			assert.False(t, present, "the node is not left in the directory")
			assert.False(t, isTransient(err))
		})
	}
}

func TestHeldErrorIsPermanentButKept(t *testing.T) {
	err := &heldError{path: nodeP, session: 0xb}
	assert.False(t, isTransient(err))
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}

// Identities the registry cannot compute (a TLS client certificate's) are
// learned from the server: a directory this registry's certificate created
// is its own; one another certificate's identity may change is refused,
// and the node written into it is taken out again.
func TestDirGuardLearnsCertificateIdentities(t *testing.T) {
	me := zk.ACL{Scheme: "x509", ID: "CN=registry"}
	digest := zk.DigestACL(zk.PermAll, "svc", "pw")[0]
	for _, tt := range []struct {
		name   string
		dirACL []zk.ACL
		ok     bool
	}{
		{"own certificate", []zk.ACL{digest, {Perms: zk.PermAll, Scheme: me.Scheme, ID: me.ID}}, true},
		{"another certificate", []zk.ACL{digest, {Perms: zk.PermAll, Scheme: "x509", ID: "CN=mallory"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeZK()
			f.put(0, "/micro-registry/payments", nil, tt.dirACL...)
			h := newOwnerHarness(t, f, 0xa, Auth("digest", []byte("svc:pw")))
			h.sess.Load().certIDs = []zk.ACL{me}
			err := h.register("payments", "n1", "A")
			h.settled()
			_, _, present := f.node("/micro-registry/payments/n1")
			if tt.ok {
				require.NoError(t, err)
				assert.True(t, present)
				return
			}
			require.ErrorContains(t, err, "x509:CN=mallory:cdrwa")
			assert.False(t, present, "the node is taken out of the foreign directory")
		})
	}
}

// Digest hashes hidden by the server ("user:x") are matched by user name.
func TestOwnEntryMatchesRedactedDigestByUser(t *testing.T) {
	carol := zk.DigestACL(zk.PermAll, "carol", "c")[0]
	cfg, err := NewConfig(Options{Settings: []Option{Auth("digest", []byte("dave:d")), DirACL(carol)}})
	require.NoError(t, err)
	assert.True(t, ownEntry(cfg, nil, cfg.dirACL, zk.ACL{Perms: zk.PermCreate, Scheme: "digest", ID: "dave:x"}))
	assert.True(t, ownEntry(cfg, nil, cfg.dirACL, zk.ACL{Perms: zk.PermAll, Scheme: "digest", ID: "carol:x"}))
	assert.False(t, ownEntry(cfg, nil, cfg.dirACL, zk.ACL{Perms: zk.PermAll, Scheme: "digest", ID: "mallory:x"}))
	assert.False(t, ownEntry(cfg, nil, cfg.dirACL, zk.ACL{Perms: zk.PermAll, Scheme: "digest", ID: "carol:otherhash"}))
	assert.False(t, ownEntry(cfg, nil, cfg.dirACL, zk.ACL{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}))
}
