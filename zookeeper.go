// Package zookeeper is a go-micro (go-micro.dev/v4) registry that keeps
// service discovery in Apache ZooKeeper.
//
// Every registered node is an ephemeral znode holding the node's service as
// JSON, so a process that crashes or is cut off disappears from discovery by
// itself once its ZooKeeper session ends:
//
//	/micro-registry/<service>/<node-id>   {"name":"greeter","version":"1.0.0",...,"nodes":[{...}]}
//
// The layout and payload are those of the older
// github.com/go-micro/plugins/v4/registry/zookeeper, so both can serve one
// fleet during a migration (see encoding.go for the contract).
//
// Select it in a go-micro service with a blank import and a flag:
//
//	import _ "github.com/zkmicro/zookeeper"
//
//	./service --registry=zookeeper --registry_address=zk1:2181,zk2:2181,zk3:2181
//
// or MICRO_REGISTRY=zookeeper and MICRO_REGISTRY_ADDRESS=..., or build one in
// code:
//
//	reg := zookeeper.NewRegistry(registry.Addrs("zk1:2181"), zookeeper.SessionTimeout(10*time.Second))
//	defer reg.(io.Closer).Close()
//	service := micro.NewService(micro.Registry(reg))
//
// Sessions: the registry holds one ZooKeeper session. When the connection
// drops and comes back within the session timeout, nothing changes for
// anyone. When the session expires, its nodes are deleted by ZooKeeper; as
// soon as a new session is established the registry re-creates every node it
// registered, with its latest data, and watchers report what changed
// meanwhile.
package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/util/cmd"
)

func init() {
	cmd.DefaultRegistries["zookeeper"] = NewRegistry
}

var (
	_ registry.Registry = (*zkRegistry)(nil)
	_ registry.Watcher  = (*zkWatcher)(nil)
	_ io.Closer         = (*zkRegistry)(nil)
)

// zkRegistry implements registry.Registry. See NewRegistry.
type zkRegistry struct {
	events *eventQueue
	owner  *owner
	mirror *mirror

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // keeper and workers

	mu      sync.Mutex // guards the fields below
	opts    registry.Options
	cfg     config
	cfgErr  error    // invalid options: returned by every call
	sess    *session // nil until first needed, and after Close
	gen     uint64   // number of connections made
	started bool     // background goroutines are running
	closed  bool

	closeOnce sync.Once
}

// NewRegistry returns a ZooKeeper registry. It never returns nil, blocks or
// dials: the connection is made when the registry is first used, so
// go-micro's pattern of NewRegistry() followed by Init(registry.Addrs(...))
// costs one connection. Invalid options are reported by Init and by every
// later call.
//
// Options: registry.Addrs (default 127.0.0.1:2181; "h1:2181,h2:2181/chroot"
// roots everything under /chroot), registry.Timeout (default 5 s: bounds the
// wait for a session and each call), registry.Logger, registry.Secure and
// registry.TLSConfig (TLS to ZooKeeper's secure client port), and this
// package's SessionTimeout, Prefix, Auth, ACL, DirACL, MirrorReads,
// MirrorIdle and ReadConcurrency. For services selected with
// --registry=zookeeper, environment variables stand in for some of them:
// EnvSessionTimeout, EnvAuth and the EnvTLS* variables.
//
// The registry's Close method (it implements io.Closer) ends its session,
// which removes its nodes at once, and stops its goroutines.
func NewRegistry(opts ...registry.Option) registry.Registry {
	r := &zkRegistry{events: newEventQueue()}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.owner = newOwner(r)
	r.mirror = newMirror(r)
	r.opts = *registry.NewOptions(opts...)
	r.cfg, r.cfgErr = newConfig(r.opts)
	return r
}

// Init applies options. When they change how to reach ZooKeeper (addresses,
// chroot, prefix, session timeout, credentials, TLS), the current
// connection is closed and the registry's nodes are registered again over a
// new one.
func (r *zkRegistry) Init(opts ...registry.Option) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errClosed
	}
	o := r.opts
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := newConfig(o)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	var old *session
	if r.cfgErr != nil || !r.cfg.sameSession(cfg) {
		old, r.sess = r.sess, nil
	}
	r.opts, r.cfg, r.cfgErr = o, cfg, nil
	r.mu.Unlock()

	if old != nil {
		old.close()
		if r.owner.count() > 0 || r.mirror.active() {
			// Someone depends on a session: connect now rather than on
			// the next call.
			r.mu.Lock()
			if r.sess == nil && !r.closed {
				r.sess, err = r.dialLocked()
			}
			r.mu.Unlock()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Options returns the options in use.
func (r *zkRegistry) Options() registry.Options {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opts
}

// String returns "zookeeper", the name go-micro's --registry flag selects.
func (r *zkRegistry) String() string { return "zookeeper" }

// Register stores every node of s as an ephemeral znode owned by this
// registry's session, or updates it, and keeps it there until Deregister or
// Close, re-creating it after a session expiry or if someone deletes it.
// Registering an unchanged node again costs no write. A node of the same id
// owned by another session (a crashed predecessor whose session has not
// expired yet) is replaced atomically. registry.RegisterTTL is accepted and
// ignored: a node lives as long as the session.
func (r *zkRegistry) Register(s *registry.Service, opts ...registry.RegisterOption) error {
	if err := validateService(s); err != nil {
		return err
	}
	payloads := make([][]byte, len(s.Nodes))
	for i, n := range s.Nodes {
		var err error
		if payloads[i], err = encodeNode(s, n); err != nil {
			return err
		}
	}
	var o registry.RegisterOptions
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cfg, cancel := r.opContext(o.Context)
	defer cancel()
	sess, err := r.conn(ctx)
	if err != nil {
		return fmt.Errorf("zookeeper: register service %q: %w", s.Name, err)
	}
	for i, n := range s.Nodes {
		if err := r.owner.register(ctx, sess, cfg, s.Name, n.Id, payloads[i]); err != nil {
			return err
		}
	}
	return nil
}

// Deregister deletes the nodes of s that this registry's session owns and
// stops keeping them. Nodes that are missing or owned by another session are
// left alone and are not an error. When ZooKeeper cannot be reached, the
// error says so, but the nodes are forgotten all the same: no reconnect
// restores them, and they are deleted once ZooKeeper is back (or went with
// the session, if it expired).
func (r *zkRegistry) Deregister(s *registry.Service, opts ...registry.DeregisterOption) error {
	if err := validateService(s); err != nil {
		return err
	}
	var o registry.DeregisterOptions
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cfg, cancel := r.opContext(o.Context)
	defer cancel()
	sess, err := r.conn(ctx)
	if err != nil {
		for _, n := range s.Nodes {
			r.owner.forget(s.Name, n.Id)
		}
		return fmt.Errorf("zookeeper: deregister service %q: %w", s.Name, err)
	}
	var errs []error
	for _, n := range s.Nodes {
		if err := r.owner.deregister(ctx, sess, cfg, s.Name, n.Id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// GetService returns the service's nodes, one registry.Service per version,
// or an error wrapping registry.ErrNotFound if it has none. Znodes whose data
// is not a registration are skipped. Answers come from the registry's mirror
// when it is in sync (see MirrorReads); otherwise ZooKeeper is read, with
// the reads of all nodes in flight at once. The returned values are copies
// whose metadata maps are shared: treat maps as read-only.
func (r *zkRegistry) GetService(name string, opts ...registry.GetOption) ([]*registry.Service, error) {
	if name == "" {
		return nil, errors.New("zookeeper: get service: name is empty")
	}
	var o registry.GetOptions
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cfg, cancel := r.opContext(o.Context)
	defer cancel()
	sess, err := r.conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: get service %q: %w", name, err)
	}
	var svcs []*registry.Service
	ok := false
	if cfg.mirrorReads {
		svcs, ok, err = r.mirror.getService(ctx, name)
	}
	if !ok {
		svcs, err = readService(ctx, sess, cfg, escapeSegment(name))
	}
	if err != nil {
		return nil, fmt.Errorf("zookeeper: get service %q: %w", name, err)
	}
	if len(svcs) == 0 {
		return nil, fmt.Errorf("zookeeper: service %q: %w", name, registry.ErrNotFound)
	}
	return svcs, nil
}

// ListServices returns every registered service, one entry per name and
// version with its nodes, sorted by name. Services without nodes are left
// out.
func (r *zkRegistry) ListServices(opts ...registry.ListOption) ([]*registry.Service, error) {
	var o registry.ListOptions
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cfg, cancel := r.opContext(o.Context)
	defer cancel()
	sess, err := r.conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: list services: %w", err)
	}
	var svcs []*registry.Service
	ok := false
	if cfg.mirrorReads {
		svcs, ok, err = r.mirror.listServices(ctx)
	}
	if !ok && err == nil {
		svcs, err = readAllServices(ctx, sess, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("zookeeper: list services: %w", err)
	}
	return svcs, nil
}

// Watch returns a Watcher of one service (registry.WatchService), which may
// not exist yet, or of all services, including those registered later. It
// returns once the watcher's starting point is in sync with ZooKeeper; Next
// then reports every node created, updated or deleted after that point.
// Cancelling registry.WatchContext stops the watcher.
func (r *zkRegistry) Watch(opts ...registry.WatchOption) (registry.Watcher, error) {
	var o registry.WatchOptions
	for _, opt := range opts {
		opt(&o)
	}
	ctx, _, cancel := r.opContext(o.Context)
	defer cancel()
	if _, err := r.conn(ctx); err != nil {
		return nil, fmt.Errorf("zookeeper: watch: %w", err)
	}
	w := newWatcher(r.mirror, o)
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
// ephemeral nodes at once, its watchers stop, and its goroutines exit
// before Close returns. Later calls fail. Close is idempotent and safe to
// call concurrently.
func (r *zkRegistry) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		s := r.sess
		r.sess = nil
		r.mu.Unlock()

		r.cancel()
		r.mirror.stopWatchers()
		r.owner.queue.ShutDown()
		r.mirror.queue.ShutDown()
		if s != nil {
			s.close()
		}
		r.wg.Wait()
	})
	return nil
}

// config returns the current configuration.
func (r *zkRegistry) config() config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// opContext returns a context for one operation, bounded by the configured
// timeout and ended by Close, and the configuration to use for it.
func (r *zkRegistry) opContext(parent context.Context) (context.Context, config, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	cfg := r.config()
	ctx, cancel := context.WithTimeout(parent, cfg.timeout)
	stop := context.AfterFunc(r.ctx, cancel)
	return ctx, cfg, func() { stop(); cancel() }
}

// conn returns the session to use, connecting on first use, once it is
// established.
func (r *zkRegistry) conn(ctx context.Context) (*session, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errClosed
	}
	if r.cfgErr != nil {
		r.mu.Unlock()
		return nil, r.cfgErr
	}
	var err error
	if r.sess == nil {
		r.sess, err = r.dialLocked()
	}
	s := r.sess
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		if r.ctx.Err() != nil {
			return nil, errClosed
		}
		return nil, err
	}
	return s, nil
}

// dialLocked opens a connection and, the first time, starts the keeper and
// workers. r.mu must be held.
func (r *zkRegistry) dialLocked() (*session, error) {
	s, err := dial(r.cfg, r.gen+1, r.events)
	if err != nil {
		return nil, err
	}
	r.gen++
	if !r.started {
		r.started = true
		r.wg.Add(1)
		go r.keep()
		for i := 0; i < ownerWorkers; i++ {
			r.wg.Add(1)
			go r.owner.run()
		}
		for i := 0; i < mirrorWorkers; i++ {
			r.wg.Add(1)
			go r.mirror.run()
		}
	}
	return s, nil
}

// readService reads a service's nodes from ZooKeeper, all reads in flight at
// once, without touching the mirror.
func readService(ctx context.Context, s *session, cfg config, dir string) ([]*registry.Service, error) {
	dirPath := cfg.root + "/" + dir
	children, err := call(ctx, s, func(c *zk.Conn) ([]string, error) {
		ch, _, err := c.Children(dirPath)
		return ch, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dirPath, err)
	}
	paths := make([]string, len(children))
	for i, c := range children {
		paths[i] = dirPath + "/" + c
	}
	got, err := s.readAll(ctx, paths)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dirPath, err)
	}
	return decodeAll(cfg, paths, got), nil
}

// readAllServices lists and reads every service from ZooKeeper.
func readAllServices(ctx context.Context, s *session, cfg config) ([]*registry.Service, error) {
	dirs, err := call(ctx, s, func(c *zk.Conn) ([]string, error) {
		ch, _, err := c.Children(cfg.root)
		return ch, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", cfg.root, err)
	}
	// List all directories at once, then read all nodes at once.
	lists := make([][]string, len(dirs))
	errs := make([]error, len(dirs))
	err = s.each(ctx, len(dirs), func(c *zk.Conn, i int) {
		lists[i], _, errs[i] = c.Children(cfg.root + "/" + dirs[i])
	})
	if err != nil {
		return nil, err
	}
	var paths []string
	for i, d := range dirs {
		if errs[i] != nil && !errors.Is(errs[i], zk.ErrNoNode) {
			return nil, fmt.Errorf("list %s/%s: %w", cfg.root, d, errs[i])
		}
		for _, c := range lists[i] {
			paths = append(paths, cfg.root+"/"+d+"/"+c)
		}
	}
	got, err := s.readAll(ctx, paths)
	if err != nil {
		return nil, fmt.Errorf("read services: %w", err)
	}
	svcs := decodeAll(cfg, paths, got)
	sortServices(svcs)
	return svcs, nil
}

// decodeAll decodes read znodes into services grouped by name and version,
// skipping (and logging) what is not a registration.
func decodeAll(cfg config, paths []string, got []znode) []*registry.Service {
	nodes := make([]*registry.Service, 0, len(got))
	var d sharedDecoder
	for i, z := range got {
		if errors.Is(z.err, zk.ErrNoNode) {
			continue
		}
		if z.err != nil {
			cfg.logger.Logf(logger.WarnLevel, "zookeeper: skipping %s: %v", paths[i], z.err)
			continue
		}
		s, err := d.decode(z.data)
		if err != nil {
			cfg.logger.Logf(logger.WarnLevel, "zookeeper: skipping %s: %v", paths[i], err)
			continue
		}
		nodes = append(nodes, s)
	}
	return groupByVersion(nodes)
}

// sortServices orders services by name, then version.
func sortServices(svcs []*registry.Service) {
	sort.SliceStable(svcs, func(i, j int) bool {
		if svcs[i].Name != svcs[j].Name {
			return svcs[i].Name < svcs[j].Name
		}
		return svcs[i].Version < svcs[j].Version
	})
}
