package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// Tree pacing and bounds.
const (
	// maxTreeDeferrals bounds how many sync rounds in a row may end with
	// new work pending and not publish. A round publishes only when no
	// work is pending, so that the events of one multi (which arrive one
	// by one) are read before anyone sees the result; under constant churn
	// it publishes anyway after this many rounds.
	maxTreeDeferrals = 8
	// treeRetryMin and treeRetryMax bound the wait before a failed sync
	// round is tried again (it doubles from the first to the second).
	treeRetryMin = 50 * time.Millisecond
	treeRetryMax = 2 * time.Second
	// maxApplyAttempts bounds the multis one Apply sends: after a multi
	// fails because the subtree changed since the snapshot it was planned
	// on, the tree re-reads what it touched and Apply plans again.
	maxApplyAttempts = 4
)

// Tree mirrors the subtree of ZooKeeper under a root (the chroot and prefix
// of its Options): every znode's data, version and children, kept current
// by a children watch and a data watch on each znode (an exists watch on
// the root while it is missing), in the manner of Curator's CuratorCache
// and kazoo's TreeCache. It is the config source's view of ZooKeeper
// (zkconfig), built on a Client that it may share with a Registry and
// other Trees.
//
// One worker goroutine (tree_sync.go) keeps it: watch events mark the
// znodes to read again, and each sync round reads what is marked, level
// by level, with many reads in flight, then publishes an immutable
// TreeSnapshot and wakes everyone waiting on Latest's channel. After a new
// session, and after every reconnection (zk re-arms watches in the
// background and only logs when that fails, so an event may have been
// missed), a round reads the whole subtree again; a snapshot is published
// only if something changed.
//
// Consistency: a snapshot is what a ZooKeeper follower would show after
// the reads of its last round, whole branches only (no znode without its
// parent). It trails ZooKeeper by the time a watch event and a read take,
// and never goes backwards: a round after a new session first syncs the
// server it reads from with the leader (zk may have connected to a server
// that is behind the one before).
//
// All methods may be called concurrently. Errors are prefixed
// "zookeeper: ".
type Tree struct {
	client      *Client
	group       *group // the tree's goroutines: its worker
	prefix      string // the subtree's root below the client's chroot
	timeout     time.Duration
	log         Logger   // nil: the client's
	ancestorACL []zk.ACL // of the root's missing ancestors that Apply creates
	allowedACL  []zk.ACL // identities accepted beside the client's own
	openTree    bool     // accept znodes others may change
	setupErr    error    // invalid TreeOptions: returned by every call

	kick   chan struct{} // coalescing: work is pending
	reads  atomic.Uint64 // zk reads made (GetW, ChildrenW, ExistsW), for Stats
	rounds atomic.Uint64 // sync rounds that succeeded, for Stats

	startOnce sync.Once
	started   atomic.Bool // the worker was started
	closeOnce sync.Once

	mu        sync.Mutex    // guards the fields below
	work      treeWork      // what watch events and the session asked for
	epoch     uint64        // counts session starts, disconnects and reconnects
	fullAt    uint64        // the epoch in which a whole read last succeeded; 0: never
	online    bool          // the session can serve calls
	fresh     bool          // a session started and its connected(true) is still to come
	inSync    bool          // published holds a whole read of the current epoch
	err       error         // why the last round failed; nil after a success
	logged    string        // the last round error logged, to log each once
	published *TreeSnapshot // nil until the first whole read
	foreign   error         // a znode of published that others may change (guardedLocked), nil if none
	changed   chan struct{} // closed and replaced when published, inSync or err change
	taken     uint64        // takes of work so far
	completed uint64        // the last take whose work published holds
	deferrals int           // rounds in a row that did not publish

	// The worker's own state, used only on its goroutine.
	state treeState
}

// TreeSnapshot is a consistent view of a Tree's subtree. It is immutable
// and shared: callers must not modify it.
type TreeSnapshot struct {
	// Root is the znode the paths are relative to: chroot + prefix.
	Root string
	// Nodes holds every znode of the subtree by its path relative to
	// Root: "" is Root itself, "/a/b" is the znode Root+"/a/b". It is
	// empty while Root does not exist.
	Nodes map[string]*TreeNode
	// Revision increases by one with every change published; equal
	// revisions of one Tree hold equal content.
	Revision uint64
}

// TreeNode is one znode of a TreeSnapshot. It is immutable and shared.
type TreeNode struct {
	// Data is the znode's data.
	Data []byte
	// Version is the Stat.Version the data was read at, for the version
	// checks of a multi; -1 when Err is set.
	Version int32
	// Children are the names of the znode's children, sorted; each has
	// its own entry in the snapshot.
	Children []string
	// Err says why the znode could not be read (its ACL refuses this
	// client's credentials); Data, Version and Children are then unknown.
	Err error
	// ACL is the znode's ACL as the server shows it to this client, read
	// with its data when the client has credentials (nil otherwise).
	ACL []zk.ACL
}

// TreeStats are a Tree's counts.
type TreeStats struct {
	Nodes    int    // znodes in the latest snapshot
	Revision uint64 // revision of the latest snapshot
	Rounds   uint64 // sync rounds that succeeded
	Reads    uint64 // ZooKeeper reads made (data, children and exists)
}

// treeWork is what a sync round has to do: the watch work taken, and
// when.
type treeWork struct {
	watchWork
	epoch uint64 // t.epoch when taken
	seq   uint64 // the take's number
}

// TreeOptions configure a Tree.
type TreeOptions struct {
	// Prefix is the znode whose subtree the tree follows, below the
	// client's chroot: an absolute, clean path other than "/" whose
	// segments ZooKeeper accepts as they are. Required.
	Prefix string
	// Timeout bounds Snapshot's wait and each Apply. Default: the
	// client's timeout; negative is an error.
	Timeout time.Duration
	// Logger receives the tree's log lines. Default: the client's logger.
	Logger Logger
	// AncestorACL is the ACL of the root's missing ancestors that Apply
	// creates. Default: the default ACL of a registry's prefix (see ACL):
	// world-readable, and world-creatable with credentials.
	AncestorACL []zk.ACL
	// AllowedACL names identities, beside the client's own, that may
	// change znodes of the subtree (see OpenTree). Default: none.
	AllowedACL []zk.ACL
	// OpenTree, with credentials, accepts a root or znodes below it whose
	// ACL lets other identities (not the client's own, nor AllowedACL's)
	// create, write, delete or administer them. Default false: such a
	// subtree, which anyone could have created before the first write
	// (or changed since), would let them add keys beside the caller's,
	// change or delete them, so Snapshot and Apply refuse it, with the
	// registry's directory guard (dirguard.go). Without credentials
	// everything is open and nothing is checked.
	OpenTree bool
}

// NewTree returns a tree of the subtree under the client's chroot and
// o.Prefix, on c, which it shares with whatever else is built on c:
// closing the tree leaves the client alone, and closing the client (or
// the Registry that owns it) ends the tree, whose calls then fail with
// ErrClosed. It never blocks or dials: the subtree is read on first use.
// Invalid options are returned by every call.
func NewTree(c *Client, o TreeOptions) *Tree {
	t := newTree(c, o.Prefix)
	t.timeout, t.log = o.Timeout, o.Logger
	t.ancestorACL = slices.Clone(o.AncestorACL)
	t.allowedACL, t.openTree = slices.Clone(o.AllowedACL), o.OpenTree
	switch {
	case o.Timeout < 0:
		t.setupErr = fmt.Errorf("tree timeout %v is negative", o.Timeout)
	default:
		t.setupErr = validatePrefix(o.Prefix)
	}
	if t.setupErr == nil && o.AncestorACL != nil {
		cfg, _ := c.config()
		t.setupErr = validateACL("AncestorACL", o.AncestorACL, cfg.Authenticated())
	}
	if !c.attach((*treeListener)(t)) {
		t.group.stop()
	}
	return t
}

func newTree(c *Client, prefix string) *Tree {
	t := &Tree{
		client:  c,
		group:   c.group.child(),
		prefix:  prefix,
		kick:    make(chan struct{}, 1),
		changed: make(chan struct{}),
		state:   newTreeState(),
		work:    treeWork{watchWork: watchWork{all: true}},
		epoch:   1, // fullAt 0 is never
	}
	t.kick <- struct{}{} // the first read
	return t
}

// Config returns the configuration of the tree's client, or why the
// client or the tree's options are invalid.
func (t *Tree) Config() (Config, error) {
	cfg, err := t.client.config()
	if err == nil {
		err = t.setupErr
	}
	if err != nil {
		return cfg, fmt.Errorf("zookeeper: %w", err)
	}
	return cfg, nil
}

// Root returns the znode the tree follows, chroot and prefix, for cfg.
func (t *Tree) root(cfg Config) string { return cfg.chroot + t.prefix }

// logger returns the tree's logger.
func (t *Tree) logger() Logger {
	if t.log != nil {
		return t.log
	}
	return t.client.logger()
}

// opContext returns a context for one operation, bounded by the tree's
// timeout and ended by Close (the tree's or its client's).
func (t *Tree) opContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := t.client.opContext(parent, t.timeout)
	stop := context.AfterFunc(t.group.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// ancestorsACL returns the ACL of the root's ancestors Apply creates.
func (t *Tree) ancestorsACL(cfg Config) []zk.ACL {
	if t.ancestorACL != nil {
		return t.ancestorACL
	}
	_, _, root := defaultACLs(cfg.Authenticated())
	return root
}

// start starts the worker, on first use.
func (t *Tree) start() {
	t.startOnce.Do(func() { t.started.Store(true); t.group.Go(t.run) })
}

// Snapshot returns the tree's latest snapshot once it holds a whole read
// made since the session was last (re)connected, waiting for it at most
// until ctx ends or the configured timeout passes. A refusal that will
// repeat (invalid options, an ACL that does not let this client read the
// root) is returned at once.
func (t *Tree) Snapshot(ctx context.Context) (*TreeSnapshot, error) {
	cfg, err := t.Config()
	if err != nil {
		return nil, err
	}
	t.start()
	ctx, cancel := t.opContext(ctx)
	defer cancel()
	for {
		if t.group.stopping() {
			return nil, fmt.Errorf("zookeeper: %w", ErrClosed)
		}
		t.mu.Lock()
		snap, inSync, ch, last, foreign := t.published, t.inSync, t.changed, t.err, t.foreign
		t.mu.Unlock()
		switch {
		case inSync && foreign != nil:
			return nil, fmt.Errorf("zookeeper: read %s: %w", shortPath(t.root(cfg)), foreign)
		case inSync:
			return snap, nil
		case last != nil && !isTransient(last):
			return nil, fmt.Errorf("zookeeper: read %s: %w", shortPath(t.root(cfg)), last)
		}
		select {
		case <-ch:
		case <-t.group.done():
			return nil, fmt.Errorf("zookeeper: %w", ErrClosed)
		case <-ctx.Done():
			if why := t.why(last); why != nil {
				return nil, fmt.Errorf("zookeeper: %s is not in sync with ZooKeeper (%w): %w", shortPath(t.root(cfg)), why, ctx.Err())
			}
			return nil, fmt.Errorf("zookeeper: %s is not in sync with ZooKeeper yet: %w", shortPath(t.root(cfg)), ctx.Err())
		}
	}
}

// why says why the tree is not in sync: the last round's error, or why
// there is no session; nil if it does not know.
func (t *Tree) why(last error) error {
	if last != nil {
		return fmt.Errorf("last error: %w", last)
	}
	c, _ := t.client.current()
	if c == nil || c.isReady() {
		return nil
	}
	if err := c.connErr.get(); err != nil {
		return fmt.Errorf("no session with %s; last connection error: %w", strings.Join(c.servers, ","), err)
	}
	return fmt.Errorf("no session with %s (state %s)", strings.Join(c.servers, ","), c.zk.State())
}

// Latest returns the latest snapshot, nil before the first whole read and
// while the subtree holds a znode others may change (see OpenTree;
// Snapshot says which), and a channel closed when a newer one is published
// (or the tree's state changes otherwise). It does not wait; it starts the tree if needed.
// While the session is disconnected the snapshot may be stale: it is the
// last one read.
func (t *Tree) Latest() (*TreeSnapshot, <-chan struct{}) {
	t.start()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.foreign != nil {
		return nil, t.changed // refused: Snapshot says why
	}
	return t.published, t.changed
}

// Done is closed when the tree is closed.
func (t *Tree) Done() <-chan struct{} { return t.group.done() }

// Apply changes the subtree with one multi: plan gets the latest snapshot
// in sync and returns the operations (*zk.CreateRequest,
// *zk.SetDataRequest, *zk.DeleteRequest) that make the subtree what the
// caller wants, with the versions of that snapshot; Apply creates the
// root's missing ancestors first if the root is missing (with the
// ancestor ACL), sends the multi, and returns once the tree has read back
// what it changed, so that a snapshot taken afterwards shows it.
//
// When the multi fails because the subtree changed since the snapshot
// (a version no longer matches, a znode appeared, vanished or gained
// children), the tree re-reads what the multi touched and plan is called
// again with the new snapshot, up to maxApplyAttempts multis in all; the
// last refusal is then returned. When the connection is lost during the
// multi, which may or may not have been applied, Apply waits for the
// session, re-reads what the multi touched and plans again: an empty plan
// says it was applied, another one is sent (plans are made from the
// subtree as it is, so a multi applied twice cannot result). Only when
// that re-read fails does Apply say the outcome is unknown. An error
// returned by plan is returned as it is, and nothing changes. All attempts
// together are bounded by ctx and the timeout.
func (t *Tree) Apply(ctx context.Context, plan func(*TreeSnapshot) ([]any, error)) error {
	cfg, err := t.Config()
	if err != nil {
		return err
	}
	ctx, cancel := t.opContext(ctx)
	defer cancel()
	root := t.root(cfg)
	var last error   // why the last multi failed
	unknown := false // the last multi was cut off: it may have been applied
	outcome := func(err error) error {
		switch {
		case unknown:
			return fmt.Errorf("zookeeper: write %s: the outcome is unknown (the write may have been applied): %w (and re-reading failed: %w)", shortPath(root), last, err)
		case last != nil:
			return fmt.Errorf("%w (after a failed attempt: %v)", err, last)
		}
		return err
	}
	for attempt := 1; attempt <= maxApplyAttempts; attempt++ {
		snap, err := t.Snapshot(ctx)
		if err != nil {
			return outcome(err)
		}
		ops, err := plan(snap)
		if err != nil {
			return err
		}
		if len(ops) == 0 {
			return nil
		}
		unknown = false
		s, err := t.client.session(ctx)
		if err != nil {
			return outcome(fmt.Errorf("zookeeper: write %s: %w", shortPath(root), err))
		}
		if err := t.checkWrite(ctx, s, root, ops); err != nil {
			return outcome(fmt.Errorf("zookeeper: write %s: %w", shortPath(root), err))
		}
		if _, ok := snap.Nodes[""]; !ok {
			if err := createAncestors(ctx, s, root, t.ancestorsACL(cfg)); err != nil {
				return outcome(fmt.Errorf("zookeeper: write %s: %w", shortPath(root), err))
			}
		}
		res, err := call(ctx, s.conn, func(z *zk.Conn) ([]zk.MultiResponse, error) { return z.Multi(ops...) })
		target := t.markWritten(root, ops)
		if err == nil {
			if err := t.awaitRound(ctx, target); err != nil {
				return fmt.Errorf("zookeeper: write %s: written, but not read back: %w", shortPath(root), err)
			}
			return nil
		}
		failed := multiError(s.cfg, ops, res, err)
		if !isConflict(err, res) && !isTransient(err) {
			return fmt.Errorf("zookeeper: write %s: %w", shortPath(root), failed)
		}
		last, unknown = failed, isTransient(err)
		if err := t.awaitRound(ctx, target); err != nil {
			if unknown {
				return outcome(err)
			}
			return fmt.Errorf("zookeeper: write %s: %w (and re-reading failed: %w)", shortPath(root), failed, err)
		}
		unknown = false // re-read: the next plan tells
	}
	return fmt.Errorf("zookeeper: write %s: the subtree kept changing during %d attempts; last: %w", shortPath(root), maxApplyAttempts, last)
}

// createAncestors creates the missing ancestors of root, from the top,
// with acl.
func createAncestors(ctx context.Context, s *Session, root string, acl []zk.ACL) error {
	var missing []string
	for p := parent(root); p != "/" && p != "."; p = parent(p) {
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		p := missing[i]
		_, err := call(ctx, s.conn, func(z *zk.Conn) (string, error) {
			return z.Create(p, nil, zk.FlagPersistent, acl)
		})
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return describe(s.cfg, opCreate, err, p)
		}
	}
	return nil
}

// isConflict reports whether a multi failed because the subtree is not
// what its snapshot said.
func isConflict(err error, res []zk.MultiResponse) bool {
	conflict := func(e error) bool {
		return errors.Is(e, zk.ErrBadVersion) || errors.Is(e, zk.ErrNodeExists) ||
			errors.Is(e, zk.ErrNotEmpty) || errors.Is(e, zk.ErrNoNode)
	}
	if conflict(err) {
		return true
	}
	for _, r := range res {
		if conflict(r.Error) {
			return true
		}
	}
	return false
}

// multiError describes the operation of a failed multi that ZooKeeper
// refused: the first whose result is an error of its own (the others are
// rolled back, and report a runtime inconsistency or nothing).
func multiError(cfg Config, ops []any, res []zk.MultiResponse, err error) error {
	for i, r := range res {
		if r.Error == nil || errors.Is(r.Error, zk.ErrAPIError) || i >= len(ops) ||
			strings.HasSuffix(r.Error.Error(), "unknown error: -2") {
			continue
		}
		switch op := ops[i].(type) {
		case *zk.CreateRequest:
			return describe(cfg, opCreate, r.Error, op.Path)
		case *zk.SetDataRequest:
			return describe(cfg, opChange, r.Error, op.Path)
		case *zk.DeleteRequest:
			return describe(cfg, opDelete, r.Error, op.Path)
		}
	}
	return fmt.Errorf("multi of %d operations: %w", len(ops), err)
}

// markWritten marks what ops changed for the next round, and returns the
// take that will include it.
func (t *Tree) markWritten(root string, ops []any) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, op := range ops {
		var p string
		switch op := op.(type) {
		case *zk.CreateRequest:
			p = op.Path
		case *zk.SetDataRequest:
			p = op.Path
		case *zk.DeleteRequest:
			p = op.Path
		}
		rel, ok := treeRel(root, p)
		if !ok {
			continue
		}
		t.work.mark(rel, needBoth)
		if rel != "" {
			t.work.mark(parentRel(rel), needList)
		}
	}
	t.kickLocked()
	return t.taken + 1
}

// awaitRound waits until the work of take seq is published.
func (t *Tree) awaitRound(ctx context.Context, seq uint64) error {
	t.start()
	for {
		t.mu.Lock()
		done, ch := t.completed >= seq, t.changed
		t.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-t.group.done():
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Stats returns the tree's counts.
func (t *Tree) Stats() TreeStats {
	s := TreeStats{Rounds: t.rounds.Load(), Reads: t.reads.Load()}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.published; p != nil {
		s.Nodes, s.Revision = len(p.Nodes), p.Revision
	}
	return s
}

// SessionID returns the id of the tree's current session, 0 if none.
func (t *Tree) SessionID() int64 { return t.client.sessionID() }

// Close ends the tree: its worker stops, waiters get ErrClosed, and every
// goroutine of the tree has exited when Close returns. The client is left
// alone (the tree's watches stay on the server until they fire once,
// unheard). It is idempotent and safe to call concurrently.
func (t *Tree) Close() error {
	t.closeOnce.Do(func() {
		t.group.stop()
		t.client.detach((*treeListener)(t))
		t.group.wait()
	})
	return nil
}

// kickLocked wakes the worker. t.mu must be held (or not: it never blocks).
func (t *Tree) kickLocked() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// broadcastLocked wakes everyone waiting on t.changed. t.mu must be held.
func (t *Tree) broadcastLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// treeListener is the Tree as its Client's sessionListener.
type treeListener Tree

func (l *treeListener) sessionStarted(Config, int64, int64) {
	t := (*Tree)(l)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.epoch++
	t.fresh = true
	t.inSync = false
	t.work.all = true
	t.kickLocked()
	t.broadcastLocked()
}

func (l *treeListener) connected(ok bool) {
	t := (*Tree)(l)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case ok && t.fresh:
		// The session that just started is being read already.
	case ok && !t.online:
		// Reconnected, same session. zk re-arms its watches in the
		// background and only logs a failure: read everything again.
		t.epoch++
		t.work.all = true
		t.kickLocked()
	case !ok && t.online:
		t.epoch++
	}
	t.online, t.fresh = ok, false
	t.updateSyncLocked()
	t.broadcastLocked()
}

func (l *treeListener) needsSession() bool {
	t := (*Tree)(l)
	return !t.group.stopping() && t.started.Load()
}

func (l *treeListener) watchEvent(cfg Config, e zk.Event) {
	t := (*Tree)(l)
	rel, ok := treeRel(t.root(cfg), e.Path)
	if !ok {
		return
	}
	n := needBoth
	switch e.Type {
	case zk.EventNodeDataChanged:
		n = needData
	case zk.EventNodeChildrenChanged:
		n = needList
	}
	t.mu.Lock()
	t.work.mark(rel, n)
	t.kickLocked()
	t.mu.Unlock()
}

// treeRel returns the path of p relative to root, and whether p is root
// or below it.
func treeRel(root, p string) (string, bool) {
	if p == root {
		return "", true
	}
	rel, ok := strings.CutPrefix(p, root)
	if !ok || len(rel) < 2 || rel[0] != '/' {
		return "", false
	}
	return rel, true
}

// parentRel returns the relative path of the parent of rel (not "").
func parentRel(rel string) string {
	return rel[:strings.LastIndexByte(rel, '/')]
}
