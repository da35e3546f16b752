package zkconfig

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/configdoc"
	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/microlog"
)

var (
	_ source.Source  = (*zkSource)(nil)
	_ io.Closer      = (*zkSource)(nil)
	_ source.Watcher = (*zkWatcher)(nil)
)

// Errors of a source that can no longer be used.
var (
	// errClosed is returned by the calls of a closed source.
	errClosed = errors.New("zookeeper: config source is closed")
	// errRegistryClosed is returned by the calls of a source whose
	// registry (WithRegistry) was closed.
	errRegistryClosed = errors.New("zookeeper: config source: the registry whose session it shares is closed")
)

// zkSource implements source.Source over the engine's Tree. See NewSource.
type zkSource struct {
	set    settings
	client *engine.Client // the source's own client; nil when it shares a registry's
	tree   *engine.Tree
	log    engine.Logger

	closeOnce sync.Once
	closed    atomic.Bool // Close was called

	mu      sync.Mutex         // guards the fields below
	doc     configdoc.Document // the document of revision docRev
	docRev  uint64             // 0: none yet (revisions start at 1)
	logged  map[string]bool    // lines about skipped znodes logged for doc
	handed  string             // checksum of the last document handed out
	refusal string             // the refusal of the subtree logged last (logRefusal)
}

// NewSource returns a go-micro config source that reads the ZooKeeper
// subtree under the prefix (see the layout in README.md) and watches it.
// It never returns nil, blocks or dials: the session is made, and the
// subtree read, on first use. Invalid options make every call fail, with
// the reason.
//
// Options: WithAddress, WithPrefix, SessionTimeout, Auth, TLSConfig, ACL,
// Private, OpenTree, Timeout and Logger; the registry's
// MICRO_REGISTRY_ZOOKEEPER_AUTH, _SESSION_TIMEOUT, _OPEN_DIRS and _TLS*
// environment variables stand in for the corresponding options.
// WithRegistry shares a registry's session instead of holding one.
// go-micro's source.WithEncoder is ignored: the source reads and writes
// JSON only.
//
// The source holds one ZooKeeper session (its own, or its registry's),
// shared by its Read, Write and every Watcher, and one in-memory copy of
// the subtree kept current by watches. Its methods:
//
//   - Read returns the subtree as one JSON object ({} while the prefix is
//     missing), waiting at most the Timeout for the copy to be in sync; a
//     refusal to read the prefix (its ACL) is returned at once, and so,
//     with credentials, is a subtree whose prefix or znodes others may
//     change (see OpenTree): the error names the znode, the ACL entry and
//     how to fix it.
//   - Watch returns a Watcher whose Next returns the configuration each
//     time it changes: any create, change or delete under the prefix,
//     within milliseconds. A burst is one change set, and an older state
//     never follows a newer one. After a disconnection or a session expiry
//     the subtree is read again, and Next returns it if it changed
//     meanwhile. While the subtree is refused (see OpenTree), Next hands
//     out nothing and waits; the refusal is logged once. Stop makes Next
//     return source.ErrWatcherStopped.
//   - Write makes the subtree hold the JSON object of a change set, in one
//     atomic multi: keys missing from it are deleted, the prefix and its
//     missing ancestors created; a new key takes the ACL of the znode it
//     is created below (unless Private). Invalid input, and a subtree Read
//     refuses, are refused before anything is written. When the multi
//     fails because the subtree changed meanwhile, the source re-reads and
//     writes again, up to 4 multis, then returns the refusal. It returns
//     once a Read would show the write.
//   - Close (the source implements io.Closer) ends the session (its own:
//     a registry's is left alone), stops every watcher and goroutine, and
//     is idempotent.
//
// A znode that cannot be represented (data that is not UTF-8, a name that
// is not an escaped key, an ACL that refuses this client) is left out and
// logged once; data that is not JSON is a string. Reading never fails
// because of a znode below the prefix.
func NewSource(opts ...source.Option) source.Source {
	set := resolve(source.NewOptions(opts...))
	s := &zkSource{set: set, log: microlog.New(set.logger)}
	c := set.client
	if c == nil {
		// Its own session (or, for invalid WithRegistry, one that is
		// never used: every call returns why).
		s.client = engine.NewClient(set.clientOptions())
		c = s.client
	} else if set.logger == nil {
		if cfg, err := c.Config(); err == nil {
			s.log = cfg.Logger()
		}
	}
	s.tree = engine.NewTree(c, set.treeOptions())
	return s
}

// String returns "zookeeper".
func (s *zkSource) String() string { return sourceName }

// Read returns the configuration: the subtree under the prefix as one JSON
// object, an empty object when the prefix does not exist. It waits, at
// most the Timeout, until the source's copy of the subtree is in sync with
// ZooKeeper (a first read, or a read again after a disconnection); a
// refusal to read the prefix is returned at once, as is, with credentials,
// the refusal of a subtree whose prefix or znodes others may change (see
// OpenTree). Znodes that cannot be represented are left out and logged
// (see README.md).
func (s *zkSource) Read() (*source.ChangeSet, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	snap, err := s.tree.Snapshot(context.Background())
	if err != nil {
		return nil, s.sourceErr(err)
	}
	doc := s.document(snap)
	s.handedOut(doc.Checksum)
	return newChangeSet(doc, time.Now()), nil
}

// Write makes the subtree under the prefix hold the JSON object cs
// carries, in one atomic multi: keys missing from it are deleted (znodes
// that readers leave out are kept unless the document puts a value at
// their place or removes their parent), changed values are set, new keys
// created; the prefix and its missing ancestors are created if needed. A
// new key gets the ACL of the znode it is created below (Private's
// creator-only ACL with Private), so that nothing the source writes lets
// anyone read what they could not read before; the prefix gets the ACL
// options'. Znodes that already hold what the document gives them are not
// touched, so writing what Read returned changes nothing.
//
// A change set that is not JSON, or a document that is not a JSON object
// of UTF-8 text (no escape of a lone surrogate such as "\udc00") with
// valid keys (not empty, ".", ".." or twice in one object), or that needs
// a request larger than ZooKeeper accepts, is refused before anything is
// written, and nothing changes. So is a subtree Read refuses (with
// credentials: a prefix or znode others may change, see OpenTree).
//
// Concurrent writers: a multi carries the versions of the snapshot it was
// planned on, so it never half-applies over a change it did not see. When
// it fails because the subtree changed meanwhile, the source re-reads
// what it touched and writes again, up to 4 multis in all, and then
// returns the last refusal. The document wins over changes made before the
// retry: Write replaces the configuration, as go-micro's sources do. Write
// returns once the source's own copy shows the write, so a Read that
// follows sees it.
func (s *zkSource) Write(cs *source.ChangeSet) error {
	if err := s.check(); err != nil {
		return err
	}
	data, err := changeSetData(cs)
	if err != nil {
		return err
	}
	if err := configdoc.ValidateDocument(data); err != nil {
		return err
	}
	return s.apply(func(root string, snap *configdoc.Tree, acls configdoc.ACLs) ([]any, error) {
		return configdoc.PlanWrite(root, snap, data, acls)
	})
}

// apply changes the subtree with the operations plan returns for the
// latest snapshot in sync, in one multi, planned again on a newer snapshot
// when the subtree changed meanwhile (engine.Tree.Apply), and returns once
// the source's copy shows the change. plan gets the full path of the
// prefix znode and the ACLs of new znodes (the ACL options' for the
// prefix, a parent's for a key unless Private).
func (s *zkSource) apply(plan func(root string, snap *configdoc.Tree, acls configdoc.ACLs) ([]any, error)) error {
	cfg, err := s.tree.Config()
	if err != nil {
		return err
	}
	acl, err := s.set.nodeACL(cfg)
	if err != nil {
		return err
	}
	acls := configdoc.ACLs{New: acl, Private: s.set.private}
	err = s.tree.Apply(context.Background(), func(snap *engine.TreeSnapshot) ([]any, error) {
		return plan(snap.Root, configdoc.TreeOf(snap), acls)
	})
	return s.sourceErr(err)
}

// Watch returns a watcher whose Next returns the configuration each time
// it changes. Its starting point is the configuration last handed out by
// Read or by a watcher of this source, so that a change made between
// go-micro's Read and Watch is not missed; a watcher of a source never
// read returns the configuration at once when it is known. All watchers
// share the source's copy of the subtree.
func (s *zkSource) Watch() (source.Watcher, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	select {
	case <-s.tree.Done():
		return nil, s.sourceErr(engine.ErrClosed)
	default:
	}
	s.mu.Lock()
	last := s.handed
	s.mu.Unlock()
	return &zkWatcher{src: s, stop: make(chan struct{}), last: last}, nil
}

// Close ends the source: its session is closed (a registry's it shares
// is left alone), its watchers return source.ErrWatcherStopped, its
// goroutines have exited when Close returns, and later calls fail. It is
// idempotent and safe to call concurrently.
func (s *zkSource) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		_ = s.tree.Close()
		if s.client != nil {
			_ = s.client.Close()
		}
	})
	return nil
}

// check returns why the options are invalid, or why the source cannot be
// used.
func (s *zkSource) check() error {
	if err := s.set.validate(); err != nil {
		return err
	}
	cfg, err := s.tree.Config()
	if err != nil {
		return err
	}
	_, err = s.set.nodeACL(cfg)
	return err
}

// document returns the document of snap, computed once per revision, and
// logs the znodes it leaves out when they are new.
func (s *zkSource) document(snap *engine.TreeSnapshot) configdoc.Document {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusal = "" // a snapshot handed out: the tree is not refused
	if s.docRev == snap.Revision {
		return s.doc
	}
	doc := configdoc.ReadDocument(configdoc.TreeOf(snap))
	logged := make(map[string]bool, len(doc.Skipped))
	for _, sk := range doc.Skipped {
		line := sk.Describe(snap.Root)
		if !s.logged[line] && !logged[line] {
			s.log.Logf(engine.LevelWarn, "%s; left out of the configuration", line)
		}
		logged[line] = true
	}
	s.doc, s.docRev, s.logged = doc, snap.Revision, logged
	return doc
}

// logRefusal logs, once per reason, why the tree hands watchers nothing
// although it has read the subtree: it refuses it (a znode others may
// change, see OpenTree). Read returns the same refusal; watchers, which
// go-micro's config would call again at once, keep waiting instead.
func (s *zkSource) logRefusal() {
	if s.tree.Stats().Revision == 0 {
		return // not read yet
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Snapshot returns a refusal at once, and does not wait
	_, err := s.tree.Snapshot(ctx)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, engine.ErrClosed) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err.Error() == s.refusal {
		return
	}
	s.refusal = err.Error()
	s.log.Logf(engine.LevelWarn, "%v; watchers of the configuration wait until it is fixed", err)
}

// handedOut records the checksum of a document handed out.
func (s *zkSource) handedOut(sum string) {
	s.mu.Lock()
	s.handed = sum
	s.mu.Unlock()
}

// sourceErr returns err, with the engine's "closed" said of the source,
// or of the registry whose session it shares.
func (s *zkSource) sourceErr(err error) error {
	switch {
	case !errors.Is(err, engine.ErrClosed):
		return err
	case s.client == nil && !s.closed.Load():
		return errRegistryClosed
	}
	return errClosed
}

// zkWatcher implements source.Watcher over its source's tree.
type zkWatcher struct {
	src      *zkSource
	stop     chan struct{}
	stopOnce sync.Once

	mu   sync.Mutex // serialises Next; guards last
	last string     // checksum of the document Next returned last
}

// Next blocks until the configuration differs from what this watcher (or,
// for its first call, the source) handed out last, and returns it: the
// current configuration, so that a burst of changes is one change set and
// an older state never follows a newer one. It keeps waiting through
// disconnections and session expiries; after them the source reads the
// subtree again and Next returns it if it changed meanwhile. It also
// waits, handing out nothing, while the source refuses the subtree (a
// znode others may change, see OpenTree), and logs the refusal once. Once the
// watcher is stopped or the source closed, Next returns
// source.ErrWatcherStopped.
func (w *zkWatcher) Next() (*source.ChangeSet, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		select {
		case <-w.stop:
			return nil, source.ErrWatcherStopped
		case <-w.src.tree.Done():
			return nil, source.ErrWatcherStopped
		default:
		}
		snap, changed := w.src.tree.Latest()
		if snap == nil {
			w.src.logRefusal()
		} else if doc := w.src.document(snap); doc.Checksum != w.last {
			w.last = doc.Checksum
			w.src.handedOut(doc.Checksum)
			return newChangeSet(doc, time.Now()), nil
		}
		select {
		case <-changed:
		case <-w.stop:
		case <-w.src.tree.Done():
		}
	}
}

// Stop makes Next return source.ErrWatcherStopped, at once if it is
// waiting. It is idempotent and safe to call concurrently; the watcher
// holds no goroutine.
func (w *zkWatcher) Stop() error {
	w.stopOnce.Do(func() { close(w.stop) })
	return nil
}
