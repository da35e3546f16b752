package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Registry is the service registry over ZooKeeper that the go-micro faces
// wrap: an owner that keeps the registry's own nodes alive, a mirror that
// answers lookups and feeds watchers, and a restorer that coordinates them
// when a new session replaces an expired one (restore.go), all on a Client
// the registry owns. Trees may share that client (Client), so that a
// process holds one session.
//
// All methods may be called concurrently. Errors are prefixed "zookeeper:
// " once; ErrNotFound and ErrWatcherStopped are returned themselves.
type Registry struct {
	client   *Client
	group    *group // the registry's goroutines: workers, evictor, restores
	owner    *owner
	mirror   *mirror
	restorer *restorer
	meta     nodeMeta // node metadata set with SetNodeMetadata or adopted (nodemeta.go)
	counts   *counters

	startOnce sync.Once // starts the workers on first use
	closeOnce sync.Once
}

// NewRegistry returns a registry for o, on a client of its own. It never
// fails, blocks or dials: the connection is made on first use. Invalid
// options are returned by every call until Init is given valid ones.
func NewRegistry(o Options) *Registry {
	c := NewClient(o)
	r := &Registry{client: c, group: c.group.child(), counts: c.counts}
	r.mirror = newMirror(mirrorDeps{sessions: r})
	r.owner = newOwner(ownerDeps{sessions: r, writes: r.mirror, edits: (*registryEdits)(r), counts: r.counts})
	r.restorer = &restorer{owner: r.owner, mirror: r.mirror, group: r.group}
	r.mirror.deps.gate = r.restorer
	c.attach((*registryListener)(r))
	return r
}

// Client returns the client the registry is built on, for Trees that share
// its session. The registry owns it: Close closes it.
func (r *Registry) Client() *Client { return r.client }

// registrySessions is what the mirror's workers use of their registry's
// client; ownerSessions (owner.go) is the owner's.
type registrySessions interface {
	// begin returns a context for one operation (bounded, ended by Close).
	begin(parent context.Context) (context.Context, context.CancelFunc)
	// session returns the session to read with, waiting for one.
	session(ctx context.Context) (*Session, error)
	// logger returns the logger in use.
	logger() Logger
	// done is closed when the registry closes.
	done() <-chan struct{}
}

var (
	_ registrySessions = (*Registry)(nil)
	_ ownerSessions    = (*Registry)(nil)
)

func (r *Registry) begin(parent context.Context) (context.Context, context.CancelFunc) {
	return r.client.opContext(parent, 0)
}

func (r *Registry) logger() Logger { return r.client.logger() }

func (r *Registry) done() <-chan struct{} { return r.group.done() }

func (r *Registry) znodes(ctx context.Context) (znodes, error) { return r.session(ctx) }

// session returns the session once it is established. On first use it
// starts the registry's worker pools, which hold no goroutine until there
// is work, and the mirror's evictor.
func (r *Registry) session(ctx context.Context) (*Session, error) {
	r.startOnce.Do(func() {
		spawn := func(f func()) { r.group.Go(f) }
		r.owner.start(spawn)
		r.mirror.start(spawn)
		r.group.Go(func() {
			r.mirror.runEvictor(func() time.Duration { cfg, _ := r.client.config(); return cfg.mirrorIdle })
		})
	})
	return r.client.session(ctx)
}

// Session returns the registry's session once it is established, for
// faces that need ZooKeeper calls of their own (diagnostics). It waits at
// most the configured timeout.
func (r *Registry) Session(ctx context.Context) (*Session, error) {
	ctx, cancel := r.begin(ctx)
	defer cancel()
	s, err := r.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	return s, nil
}

// Init applies new options. Invalid options change nothing and are
// returned. When the options change how to reach ZooKeeper (addresses,
// chroot, prefix, session timeout, credentials, TLS), the connection is
// replaced, which ends the old session, and the registry's nodes are
// registered again over the new one; Trees sharing the client follow it.
func (r *Registry) Init(o Options) error {
	if err := r.client.init(o); err != nil {
		return fmt.Errorf("zookeeper: %w", err)
	}
	return nil
}

// Config returns the configuration in use, or why there is none.
func (r *Registry) Config() (Config, error) { return r.client.Config() }

// Register stores every node of s as an ephemeral znode owned by the
// registry's session, or updates it, and keeps it there until Deregister
// or Close, re-creating it after a session expiry or if someone deletes
// it. Registering an unchanged node again costs no write. Node metadata
// set with SetNodeMetadata, or adopted from an operator's change of the
// node's MetaStatus (zkmicro drain), overrides what s gives for the same
// keys. A node of the
// same id held by a predecessor (a crashed process whose session has not
// expired, or the older plugin's persistent node) is replaced atomically;
// one that another live session took over from this registry is not (see
// owner.write), and Register fails while that session holds it.
//
// When ZooKeeper cannot be reached, or a write fails on the way (a lost
// connection, a timeout), Register returns the error but keeps the node:
// it is written in the background as soon as ZooKeeper answers, until
// Deregister or Close. A refusal (bad input, no permission, an open
// directory) keeps nothing.
func (r *Registry) Register(ctx context.Context, s *Service) (err error) {
	start := time.Now()
	defer func() { r.counts.observe(OpRegister, start, err) }()
	if err := validateService(s); err != nil {
		return fmt.Errorf("zookeeper: register: %w", err)
	}
	if err := validateText(s); err != nil {
		return fmt.Errorf("zookeeper: register: %w", err)
	}
	cfg, err := r.client.config()
	if err != nil {
		return fmt.Errorf("zookeeper: register service %s: %w", quoteShort(s.Name), err)
	}
	payloads := make([][]byte, len(s.Nodes))
	bases := make([][]byte, len(s.Nodes))
	for i, n := range s.Nodes {
		if bases[i], err = encodeNode(s, n); err == nil {
			payloads[i] = bases[i]
			if o := r.meta.apply(s.Name, n); o != n {
				payloads[i], err = encodeNode(s, o)
			}
		}
		if err == nil {
			err = checkRequestSize(cfg.layout.nodePath(s.Name, n.Id), payloads[i], cfg.nodeACL)
		}
		if err != nil {
			return fmt.Errorf("zookeeper: register service %s node %s: %w", quoteShort(s.Name), quoteShort(n.Id), err)
		}
	}
	for i, n := range s.Nodes {
		r.meta.registered(s.Name, n.Id, bases[i])
	}
	ctx, cancel := r.begin(ctx)
	defer cancel()
	sess, err := r.session(ctx)
	if err != nil {
		if isTransient(err) {
			// Keep them: written once ZooKeeper is back.
			for i, n := range s.Nodes {
				r.owner.want(s.Name, n.Id, payloads[i])
			}
		}
		return fmt.Errorf("zookeeper: register service %s: %w", quoteShort(s.Name), err)
	}
	for i, n := range s.Nodes {
		if err := r.owner.register(ctx, sess, s.Name, n.Id, payloads[i]); err != nil {
			return fmt.Errorf("zookeeper: register service %s node %s: %w", quoteShort(s.Name), quoteShort(n.Id), err)
		}
	}
	return nil
}

// Deregister deletes the nodes of s that the registry's session owns and
// stops keeping them. Nodes that are missing or owned by another session
// are left alone and are not an error. When ZooKeeper cannot be reached,
// the error says so, but the nodes are forgotten all the same: no
// reconnect restores them, and they are deleted once ZooKeeper is back (or
// went with the session, if it expired).
func (r *Registry) Deregister(ctx context.Context, s *Service) (err error) {
	start := time.Now()
	defer func() { r.counts.observe(OpDeregister, start, err) }()
	if err := validateService(s); err != nil {
		return fmt.Errorf("zookeeper: deregister: %w", err)
	}
	for _, n := range s.Nodes {
		r.meta.forget(s.Name, n.Id)
	}
	ctx, cancel := r.begin(ctx)
	defer cancel()
	sess, err := r.session(ctx)
	if err != nil {
		for _, n := range s.Nodes {
			r.owner.forget(s.Name, n.Id)
		}
		return fmt.Errorf("zookeeper: deregister service %s: %w", quoteShort(s.Name), err)
	}
	var errs []error
	for _, n := range s.Nodes {
		if err := r.owner.deregister(ctx, sess, s.Name, n.Id); err != nil {
			errs = append(errs, fmt.Errorf("zookeeper: deregister service %s node %s: %w", quoteShort(s.Name), quoteShort(n.Id), err))
		}
	}
	return errors.Join(errs...)
}

// GetService returns the service's nodes, one Service per version, or
// ErrNotFound if it has none. Znodes whose data is not a registration are
// skipped. Answers come from the mirror when it is in sync (see
// MirrorReads); otherwise ZooKeeper is read, with the reads of all nodes in
// flight at once. What it returns is shared and read-only.
func (r *Registry) GetService(ctx context.Context, name string) (svcs []*Service, err error) {
	start := time.Now()
	defer func() { r.counts.observe(OpGetService, start, err) }()
	if name == "" {
		return nil, errors.New("zookeeper: get service: name is empty")
	}
	ctx, cancel := r.begin(ctx)
	defer cancel()
	sess, err := r.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: get service %s: %w", quoteShort(name), err)
	}
	ok := false
	if sess.cfg.mirrorReads {
		svcs, ok, err = r.mirror.getService(ctx, name)
	}
	if !ok && err == nil {
		svcs, err = readService(ctx, sess, EscapeSegment(name))
	}
	if err != nil {
		return nil, fmt.Errorf("zookeeper: get service %s: %w", quoteShort(name), err)
	}
	if len(svcs) == 0 {
		return nil, ErrNotFound
	}
	return svcs, nil
}

// ListServices returns every registered service, one entry per name and
// version with its nodes, sorted by name. Services without nodes are left
// out. What it returns is shared and read-only.
func (r *Registry) ListServices(ctx context.Context) (svcs []*Service, err error) {
	start := time.Now()
	defer func() { r.counts.observe(OpListServices, start, err) }()
	ctx, cancel := r.begin(ctx)
	defer cancel()
	sess, err := r.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: list services: %w", err)
	}
	ok := false
	if sess.cfg.mirrorReads {
		svcs, ok, err = r.mirror.listServices(ctx)
	}
	if !ok && err == nil {
		svcs, err = readAllServices(ctx, sess)
	}
	if err != nil {
		return nil, fmt.Errorf("zookeeper: list services: %w", err)
	}
	return svcs, nil
}

// WatchOption changes what a Watcher reports.
type WatchOption func(*Watcher)

// WatchFromEmpty makes a Watcher start from nothing: its first Next calls
// report every node of its starting point as created, then the changes
// after it, so that a client that applies every event holds the true set
// without a lookup of its own (which a change between the lookup and the
// watch's start would make wrong).
func WatchFromEmpty() WatchOption {
	return func(w *Watcher) { w.fromEmpty = true }
}

// Watch returns a Watcher of one service, which may not exist yet, or of
// all services (service ""), including those registered later. It returns
// once the watcher's starting point is in sync with ZooKeeper; Next then
// reports every node created, updated or deleted after that point (with
// WatchFromEmpty, the starting point's nodes first, as created). The
// watcher stops when stopWhen (if not nil) ends.
func (r *Registry) Watch(ctx context.Context, service string, stopWhen context.Context, opts ...WatchOption) (w *Watcher, err error) {
	start := time.Now()
	defer func() { r.counts.observe(OpWatch, start, err) }()
	ctx, cancel := r.begin(ctx)
	defer cancel()
	if _, err := r.session(ctx); err != nil {
		return nil, fmt.Errorf("zookeeper: watch: %w", err)
	}
	w = newWatcher(r.mirror, service, stopWhen)
	for _, o := range opts {
		o(w)
	}
	if err := r.mirror.subscribe(ctx, w); err != nil {
		w.Stop()
		return nil, fmt.Errorf("zookeeper: watch: %w", err)
	}
	select {
	case <-w.stop: // stopped while subscribing
		r.mirror.unsubscribe(w)
	default:
	}
	return w, nil
}

// Close ends the registry: its session is closed, which deletes its
// ephemeral nodes at once, its watchers stop, Trees sharing its client
// stop, and every goroutine has exited before Close returns. Later calls
// fail with ErrClosed. Close is idempotent and safe to call concurrently.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		c := r.client.shutdown()
		r.mirror.stopWatchers()
		r.owner.queue.ShutDown()
		r.mirror.queue.ShutDown()
		if c != nil {
			c.close()
		}
		r.client.wait()
	})
	return nil
}

// Stats returns the registry's counts and gauges. Once the registry is
// closed, its gauges are zero and its counters keep their totals.
func (r *Registry) Stats() Stats {
	var s Stats
	r.counts.snapshot(&s)
	if r.group.stopping() {
		return s
	}
	s.Connected = r.client.connected()
	s.RegisteredNodes, s.OwnedNodes = r.owner.tally()
	s.MirroredServices, s.MirroredNodes, s.Watchers = r.mirror.size()
	return s
}

// registryListener is the Registry as its Client's sessionListener.
type registryListener Registry

func (l *registryListener) sessionStarted(cfg Config, prev, sid int64) {
	(*Registry)(l).restorer.sessionStarted(cfg, prev, sid)
}

func (l *registryListener) connected(ok bool) { (*Registry)(l).mirror.setConnected(ok) }

func (l *registryListener) watchEvent(cfg Config, e zk.Event) {
	r := (*Registry)(l)
	r.owner.onEvent(cfg.layout, e)
	r.mirror.onEvent(cfg.layout, e)
}

func (l *registryListener) needsSession() bool {
	r := (*Registry)(l)
	return r.owner.count() > 0 || r.mirror.active()
}
