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
	group    *group  // the registry's goroutines: workers, evictor, restores
	owner    *owner  // our layout's (formats[0]'s)
	mirror   *mirror // our layout's (formats[0]'s)
	formats  []registryFormat
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
	r.restorer = &restorer{group: r.group}
	for i, f := range []*format{microFormat, curatorFormat} {
		m := newMirror(mirrorDeps{format: f, index: i, sessions: r, gate: r.restorer})
		var edits editAdopter = noEdits{}
		if f == microFormat {
			edits = (*registryEdits)(r)
		}
		o := newOwner(ownerDeps{format: f, sessions: r, writes: m, edits: edits, counts: r.counts})
		r.formats = append(r.formats, registryFormat{format: f, owner: o, mirror: m})
		r.restorer.owners = append(r.restorer.owners, o)
		r.restorer.mirrors = append(r.restorer.mirrors, m)
	}
	r.owner, r.mirror = r.formats[0].owner, r.formats[0].mirror
	c.attach((*registryListener)(r))
	return r
}

// registryFormat is an owner and a mirror of one format (format.go): ours
// always, Curator's as the configuration says.
type registryFormat struct {
	format *format
	owner  *owner
	mirror *mirror
}

// read returns the formats cfg reads, ours first.
func (r *Registry) read(cfg Config) []registryFormat {
	if cfg.readCurator {
		return r.formats
	}
	return r.formats[:1]
}

// noEdits adopts no change made by others: every one is restored.
type noEdits struct{}

func (noEdits) adopt(string, string, []byte, []byte) ([]byte, bool) { return nil, false }

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
		idle := func() time.Duration { cfg, _ := r.client.config(); return cfg.mirrorIdle }
		for _, f := range r.formats {
			f.owner.start(spawn)
			f.mirror.start(spawn)
			r.group.Go(func() { f.mirror.runEvictor(idle) })
		}
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
	var published [][]byte // the Curator instances, when cfg publishes them
	if cfg.publishCurator {
		published = make([][]byte, len(s.Nodes))
	}
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
		if err == nil && published != nil {
			published[i], err = r.curatorInstance(cfg, s, n, start)
		}
		if err != nil {
			return fmt.Errorf("zookeeper: register service %s node %s: %w", quoteShort(s.Name), quoteShort(n.Id), err)
		}
	}
	for i, n := range s.Nodes {
		r.meta.registered(s.Name, n.Id, bases[i], start)
	}
	ctx, cancel := r.begin(ctx)
	defer cancel()
	sess, err := r.session(ctx)
	if err != nil {
		if isTransient(err) {
			// Keep them: written once ZooKeeper is back.
			for i, n := range s.Nodes {
				r.owner.want(s.Name, n.Id, payloads[i])
				if published != nil {
					r.formats[1].owner.want(s.Name, n.Id, published[i])
				}
			}
		}
		return fmt.Errorf("zookeeper: register service %s: %w", quoteShort(s.Name), err)
	}
	for i, n := range s.Nodes {
		if err := r.owner.register(ctx, sess, s.Name, n.Id, payloads[i]); err != nil {
			return fmt.Errorf("zookeeper: register service %s node %s: %w", quoteShort(s.Name), quoteShort(n.Id), err)
		}
		if published == nil {
			continue
		}
		if err := r.formats[1].owner.register(ctx, sess, s.Name, n.Id, published[i]); err != nil {
			return fmt.Errorf("zookeeper: register service %s node %s in Curator's layout: %w", quoteShort(s.Name), quoteShort(n.Id), err)
		}
	}
	return nil
}

// curatorInstance returns the Curator instance published for node n of s
// (with the metadata SetNodeMetadata set), or why n cannot be published in
// Curator's layout. Its registration time is that of the node's first
// Register, so that registering again writes nothing.
func (r *Registry) curatorInstance(cfg Config, s *Service, n *Node, now time.Time) ([]byte, error) {
	ref, err := curatorRef(s.Name, n.Id)
	if err != nil {
		return nil, fmt.Errorf("it cannot be published in Curator's layout: %w", err)
	}
	data, err := encodeCuratorInstance(s, r.meta.apply(s.Name, n), curatorEncoding{registered: r.meta.since(s.Name, n.Id, now)})
	if err != nil {
		return nil, fmt.Errorf("it cannot be published in Curator's layout: %w", err)
	}
	l, _ := curatorFormat.layout(cfg)
	if err := checkRequestSize(l.refPath(ref), data, cfg.nodeACL); err != nil {
		return nil, fmt.Errorf("its Curator instance: %w", err)
	}
	return data, nil
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
	// Every format's owner: what was published in Curator's layout goes
	// too, and an owner that holds nothing of s does nothing.
	if err != nil {
		for _, f := range r.formats {
			for _, n := range s.Nodes {
				if f.owner.holds(s.Name, n.Id) {
					f.owner.forget(s.Name, n.Id)
				}
			}
		}
		return fmt.Errorf("zookeeper: deregister service %s: %w", quoteShort(s.Name), err)
	}
	var errs []error
	for _, f := range r.formats {
		for _, n := range s.Nodes {
			if f.format != microFormat && !f.owner.holds(s.Name, n.Id) {
				continue
			}
			if err := f.owner.deregister(ctx, sess, s.Name, n.Id); err != nil {
				errs = append(errs, fmt.Errorf("zookeeper: deregister service %s node %s: %w", quoteShort(s.Name), quoteShort(n.Id), err))
			}
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
	for _, f := range r.read(sess.cfg) {
		got, ok := []*Service(nil), false
		if sess.cfg.mirrorReads {
			got, ok, err = f.mirror.getService(ctx, name)
		}
		if !ok && err == nil {
			got, err = readService(ctx, sess, f.format, name)
		}
		if err != nil {
			return nil, fmt.Errorf("zookeeper: get service %s: %w", quoteShort(name), err)
		}
		svcs = mergeServices(svcs, got)
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
	formats := r.read(sess.cfg)
	for _, f := range formats {
		got, ok := []*Service(nil), false
		if sess.cfg.mirrorReads {
			got, ok, err = f.mirror.listServices(ctx)
		}
		if !ok && err == nil {
			got, err = readAllServices(ctx, sess, f.format)
		}
		if err != nil {
			return nil, fmt.Errorf("zookeeper: list services: %w", err)
		}
		svcs = mergeServices(svcs, got)
	}
	if len(formats) > 1 {
		sortServices(svcs)
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
	sess, err := r.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: watch: %w", err)
	}
	formats := r.read(sess.cfg)
	srcs := make([]watchSource, len(formats))
	var dirs []dirRef
	if service != "" {
		dirs = make([]dirRef, len(formats))
	}
	for i, f := range formats {
		srcs[i] = f.mirror
		if dirs != nil {
			dirs[i], _ = f.format.dir(service)
		}
	}
	w = newWatcher(srcs, dirs, stopWhen)
	for _, o := range opts {
		o(w)
	}
	for _, f := range formats {
		if err := f.mirror.subscribe(ctx, w); err != nil {
			w.Stop()
			return nil, fmt.Errorf("zookeeper: watch: %w", err)
		}
	}
	select {
	case <-w.stop: // stopped while subscribing
		for _, f := range formats {
			f.mirror.unsubscribe(w)
		}
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
		for _, f := range r.formats {
			f.mirror.stopWatchers()
		}
		for _, f := range r.formats {
			f.owner.queue.ShutDown()
			f.mirror.queue.ShutDown()
		}
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
	for _, f := range r.formats {
		services, nodes, watchers := f.mirror.size()
		s.MirroredServices += services
		s.MirroredNodes += nodes
		s.Watchers = max(s.Watchers, watchers) // a watcher subscribes to every format it reads
	}
	return s
}

// registryListener is the Registry as its Client's sessionListener.
type registryListener Registry

func (l *registryListener) sessionStarted(cfg Config, prev, sid int64) {
	(*Registry)(l).restorer.sessionStarted(cfg, prev, sid)
}

func (l *registryListener) connected(ok bool) {
	for _, f := range (*Registry)(l).formats {
		f.mirror.setConnected(ok)
	}
}

func (l *registryListener) watchEvent(cfg Config, e zk.Event) {
	for _, f := range (*Registry)(l).formats {
		f.owner.onEvent(cfg, e)
		f.mirror.onEvent(cfg, e)
	}
}

func (l *registryListener) needsSession() bool {
	for _, f := range (*Registry)(l).formats {
		if f.owner.count() > 0 || f.mirror.active() {
			return true
		}
	}
	return false
}
