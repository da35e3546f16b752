// Package zookeeper is a go-micro (go-micro.dev/v4) registry that keeps
// service discovery in Apache ZooKeeper. Its twin for go-micro v5 is
// github.com/zkmicro/zookeeper/v5: both are thin layers over one engine,
// store the same bytes at the same znodes, and so serve one fleet while its
// services move from one go-micro to the other.
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
// The registry holds one ZooKeeper session: a disconnection shorter than
// the session timeout changes nothing, and after a session expiry the
// registry re-creates every node it registered as soon as it has a new
// session.
//
// The manuals are on GitHub (https://github.com/zkmicro/zookeeper): the
// README lists the options with their defaults and the environment
// variables; docs/compatibility.md holds the znode layout and payload (a
// compatibility contract), the go-micro contract and the migration from
// the older plugin; docs/failure.md the behaviour under failure;
// docs/security.md authentication, ACLs, TLS and the threat model.
package zookeeper

import (
	"errors"
	"io"
	"sync"

	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/util/cmd"

	"github.com/zkmicro/zookeeper/internal/engine"
)

func init() {
	cmd.DefaultRegistries["zookeeper"] = NewRegistry
}

var (
	_ registry.Registry = (*zkRegistry)(nil)
	_ registry.Watcher  = (*zkWatcher)(nil)
	_ io.Closer         = (*zkRegistry)(nil)
)

// zkRegistry implements registry.Registry over the engine. See NewRegistry.
type zkRegistry struct {
	engine *engine.Registry

	mu   sync.Mutex // guards opts
	opts registry.Options
}

// NewRegistry returns a ZooKeeper registry. It never returns nil, blocks or
// dials: the connection is made when the registry is first used, so
// go-micro's pattern of NewRegistry() followed by Init(registry.Addrs(...))
// costs one connection. Invalid options make every call fail, with the
// reason, until Init is given valid ones.
//
// Options: registry.Addrs (default 127.0.0.1:2181; "h1:2181,h2:2181/chroot"
// roots everything under /chroot), registry.Timeout (default 5 s: bounds the
// wait for a session and each call), registry.Logger, registry.Secure and
// registry.TLSConfig (TLS to ZooKeeper's secure client port), and this
// package's SessionTimeout, Prefix, Auth, ACL, DirACL, OpenDirs,
// MirrorReads, MirrorIdle and ReadConcurrency. For services selected with
// --registry=zookeeper, environment variables stand in for some of them:
// EnvSessionTimeout, EnvAuth, EnvOpenDirs and the EnvTLS* variables.
//
// The registry's Close method (it implements io.Closer) ends its session,
// which removes its nodes at once, and stops its goroutines.
func NewRegistry(opts ...registry.Option) registry.Registry {
	o := *registry.NewOptions(opts...)
	return &zkRegistry{engine: engine.NewRegistry(engineOptions(o)), opts: o}
}

// Init applies options. Invalid options are returned and change nothing.
// When the options change how to reach ZooKeeper (addresses, chroot,
// prefix, session timeout, credentials, TLS), the current connection is
// closed and the registry's nodes are registered again over a new one.
func (r *zkRegistry) Init(opts ...registry.Option) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.opts
	for _, opt := range opts {
		opt(&o)
	}
	if err := r.engine.Init(engineOptions(o)); err != nil {
		return err
	}
	r.opts = o
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
// owned by a predecessor (a crashed process whose session has not expired
// yet, or the older plugin's persistent node) is replaced atomically. A
// node that another live registration with the same service and node id
// took over from this registry is left to it: the registry logs an error
// once, Register fails while that registration holds the node, and the
// node is registered again when it is gone.
//
// A Register that fails because ZooKeeper is out of reach (no session
// within registry.Timeout, a connection lost during the write) keeps its
// nodes: they are written in the background once ZooKeeper is back, until
// Deregister or Close. A refusal (bad input, no permission, an open
// service directory) keeps nothing. registry.RegisterTTL is accepted and
// ignored: a node lives as long as the session.
func (r *zkRegistry) Register(s *registry.Service, opts ...registry.RegisterOption) error {
	var o registry.RegisterOptions
	for _, opt := range opts {
		opt(&o)
	}
	return r.engine.Register(o.Context, toEngine(s))
}

// Deregister deletes the nodes of s that this registry's session owns and
// stops keeping them. Nodes that are missing or owned by another session
// are left alone and are not an error. When ZooKeeper cannot be reached,
// the error says so, but the nodes are forgotten all the same: no reconnect
// restores them, and they are deleted once ZooKeeper is back (or went with
// the session, if it expired).
func (r *zkRegistry) Deregister(s *registry.Service, opts ...registry.DeregisterOption) error {
	var o registry.DeregisterOptions
	for _, opt := range opts {
		opt(&o)
	}
	return r.engine.Deregister(o.Context, toEngine(s))
}

// GetService returns the service's nodes, one registry.Service per version,
// or registry.ErrNotFound itself if it has none. Znodes whose data is not a
// registration are skipped. Answers come from the registry's mirror when it
// is in sync (see MirrorReads); otherwise ZooKeeper is read, with the reads
// of all nodes in flight at once. The result belongs to the caller.
func (r *zkRegistry) GetService(name string, opts ...registry.GetOption) ([]*registry.Service, error) {
	var o registry.GetOptions
	for _, opt := range opts {
		opt(&o)
	}
	svcs, err := r.engine.GetService(o.Context, name)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, registry.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return fromEngine(svcs), nil
}

// ListServices returns every registered service, one entry per name and
// version with its nodes, sorted by name. Services without nodes are left
// out. The result belongs to the caller.
func (r *zkRegistry) ListServices(opts ...registry.ListOption) ([]*registry.Service, error) {
	var o registry.ListOptions
	for _, opt := range opts {
		opt(&o)
	}
	svcs, err := r.engine.ListServices(o.Context)
	if err != nil {
		return nil, err
	}
	return fromEngine(svcs), nil
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
	w, err := r.engine.Watch(o.Context, o.Service, o.Context)
	if err != nil {
		return nil, err
	}
	return &zkWatcher{w: w}, nil
}

// Close ends the registry: its session is closed, which deletes its
// ephemeral nodes at once, its watchers stop, and its goroutines exit
// before Close returns. Later calls fail. Close is idempotent and safe to
// call concurrently.
func (r *zkRegistry) Close() error { return r.engine.Close() }

// Engine returns the engine under the registry, for this module's other
// packages (zkprom, zkconfig's WithRegistry, the zkmicro command); its type
// is internal.
func (r *zkRegistry) Engine() *engine.Registry { return r.engine }
