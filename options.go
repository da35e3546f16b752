package zookeeper

import (
	"context"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/microlog"
)

// The options table of README.md is made from the doc comments below.
//go:generate go run ./internal/cmd/gendocs options

// Defaults applied when an option is not given.
const (
	// DefaultAddress is the ZooKeeper server used when registry.Addrs is empty.
	DefaultAddress = engine.DefaultAddress
	// DefaultPrefix is the znode under which services are registered.
	DefaultPrefix = engine.DefaultPrefix
	// DefaultTimeout bounds the wait for a connection and each registry
	// call when registry.Timeout is not set.
	DefaultTimeout = engine.DefaultTimeout
	// DefaultSessionTimeout is the ZooKeeper session timeout asked for when
	// SessionTimeout is not set. The server may adjust it to lie within its
	// own bounds (2 and 20 tickTimes; 4 s and 40 s with tickTime=2000).
	DefaultSessionTimeout = engine.DefaultSessionTimeout
	// DefaultMirrorIdle is how long a mirrored service nobody watches stays
	// in memory after its last lookup.
	DefaultMirrorIdle = engine.DefaultMirrorIdle
	// DefaultCuratorBase is the base path of Apache Curator's service
	// discovery that Spring Cloud Zookeeper uses by default (see Curator).
	DefaultCuratorBase = engine.DefaultCuratorBase
	// DefaultReadConcurrency is the number of reads a registry keeps in
	// flight on its session when it reads many znodes at once.
	DefaultReadConcurrency = engine.DefaultReadConcurrency
)

// Environment variables that stand in for options when the registry is
// selected with --registry=zookeeper (an option given in code wins).
const (
	// EnvAuth supplies credentials when no Auth option is given: a
	// comma-separated list of scheme:credential, e.g.
	// "digest:user:password".
	EnvAuth = engine.EnvAuth
	// EnvSessionTimeout sets the session timeout (a Go duration, e.g.
	// "4s") when no SessionTimeout option is given.
	EnvSessionTimeout = engine.EnvSessionTimeout
	// EnvOpenDirs, when true ("true", "1"), accepts open service
	// directories if no OpenDirs option is given, and open configurations
	// (zkconfig's OpenTree) if no OpenTree option is given.
	EnvOpenDirs = engine.EnvOpenDirs
	// EnvCurator turns on discovering the services registered in Apache
	// Curator's format when no Curator option is given: a base path, or
	// "true" for DefaultCuratorBase.
	EnvCurator = engine.EnvCurator
	// EnvPublishCurator, when true ("true", "1"), publishes every node in
	// Curator's format too when no PublishCurator option is given.
	EnvPublishCurator = engine.EnvPublishCurator
	// EnvTLS turns TLS on ("1", "true") with the system's trusted CAs.
	// Setting any EnvTLS* variable turns TLS on, with certificate
	// verification; EnvTLS=false together with one of the others is an
	// error. A registry.TLSConfig option wins over all of them. Files are
	// PEM and are read each time a connection is made, so rotated
	// certificates are picked up by the next connection.
	EnvTLS = engine.EnvTLS
	// EnvTLSCA names a file of CA certificates to trust instead of the
	// system's.
	EnvTLSCA = engine.EnvTLSCA
	// EnvTLSCert names the client certificate, for servers that require
	// client certificates (ssl.clientAuth). It goes with EnvTLSKey.
	EnvTLSCert = engine.EnvTLSCert
	// EnvTLSKey names the private key of EnvTLSCert.
	EnvTLSKey = engine.EnvTLSKey
	// EnvTLSServerName sets the name the server certificate must carry,
	// when it is not the host of the address dialled.
	EnvTLSServerName = engine.EnvTLSServerName
)

// settingsKey holds the plugin's own options in registry.Options.Context,
// as a []engine.Option applied in order.
type settingsKey struct{}

// setting returns a registry.Option that adds s to the plugin's options.
func setting(s engine.Option) registry.Option {
	return func(o *registry.Options) {
		if o.Context == nil {
			o.Context = context.Background()
		}
		prev, _ := o.Context.Value(settingsKey{}).([]engine.Option)
		all := append(prev[:len(prev):len(prev)], s)
		o.Context = context.WithValue(o.Context, settingsKey{}, all)
	}
}

// SessionTimeout sets the ZooKeeper session timeout: how long the server
// keeps this registry's session, and with it its ephemeral nodes, after it
// last heard from the client. A crashed process's nodes disappear after
// about this long. Default DefaultSessionTimeout (10 s), or the duration in
// EnvSessionTimeout; it must be at least 1 ms and the server clamps it to
// its bounds.
func SessionTimeout(d time.Duration) registry.Option {
	return setting(engine.SessionTimeout(d))
}

// Prefix sets the znode under which services are registered. Default
// DefaultPrefix ("/micro-registry"); it must be an absolute, clean path
// other than "/". A chroot given in the address ("host:2181/apps/prod") is
// placed before it.
func Prefix(p string) registry.Option {
	return setting(engine.Prefix(p))
}

// Auth adds credentials that the registry presents to ZooKeeper on every
// session, e.g. Auth("digest", []byte("user:password")); a digest
// credential must have a user part. It may be given more than once.
// Default: none, or those in EnvAuth. With credentials set, the znodes the
// registry creates are readable by anyone and can be changed or deleted
// only with the same credentials, unless ACL or DirACL say otherwise.
// Credentials are never logged nor put in errors (a digest user name may
// be).
func Auth(scheme string, credential []byte) registry.Option {
	return setting(engine.Auth(scheme, credential))
}

// ACL sets the access control list of the node znodes the registry
// creates (the registrations), and of the directories too unless DirACL is
// given. Default: zk.WorldACL(zk.PermAll) without credentials; with
// credentials, all permissions for the creator's identity and read for
// everyone, so that only the credentials that registered a node can change
// it. The list must not be empty; an "auth" entry needs credentials.
func ACL(acl ...zk.ACL) registry.Option {
	return setting(engine.ACL(acl...))
}

// DirACL sets the access control list of the directories the registry
// creates: the prefix (with a chroot's missing ancestors) and each service
// directory. ZooKeeper checks CREATE and DELETE on a node's parent, so the
// ACL of a service directory decides who may add nodes to the service and
// who may delete any of them. Default: the ACL option's list when it is
// given; else zk.WorldACL(zk.PermAll) without credentials, and with
// credentials all permissions for the creator's identity and read for
// everyone, plus create for everyone on the prefix (so that anyone may add
// a service directory of their own). So, with credentials, only the
// credentials that first registered a service can add or remove its
// nodes. The list must not be empty; an "auth" entry needs credentials.
// The identities it names are accepted on service directories (see
// OpenDirs).
func DirACL(acl ...zk.ACL) registry.Option {
	return setting(engine.DirACL(acl...))
}

// MirrorReads chooses whether GetService and ListServices answer from the
// registry's watch-fed mirror of ZooKeeper when it is in sync. Default
// true. With false, every call reads ZooKeeper (watchers still use the
// mirror).
//
// Mirror reads are as consistent as reads from a ZooKeeper follower: an
// answer may lag a change made elsewhere by the time its watch event and
// the one or two reads it triggers take (about a millisecond on loopback),
// and never goes backwards. The registry's own Register and Deregister are
// seen at once by its later calls. While the session is disconnected,
// calls read ZooKeeper (and fail like any read) rather than answer from a
// mirror that may be stale.
func MirrorReads(on bool) registry.Option {
	return setting(engine.MirrorReads(on))
}

// MirrorIdle sets how long a mirrored service that no watcher follows
// stays in memory after its last GetService or ListServices. Default
// DefaultMirrorIdle (10 min); it must be positive.
func MirrorIdle(d time.Duration) registry.Option {
	return setting(engine.MirrorIdle(d))
}

// ReadConcurrency sets how many reads the registry keeps in flight on its
// session when it reads many znodes at once. Default
// DefaultReadConcurrency (64); it must be between 1 and 1024.
func ReadConcurrency(n int) registry.Option {
	return setting(engine.ReadConcurrency(n))
}

// OpenDirs, with credentials, accepts service directories whose ACL lets
// identities other than the registry's own (and those DirACL names) write,
// create, delete or administer them. Default false, or EnvOpenDirs. Such a
// directory could have been created by anyone before the service's first
// registration (or after ZooKeeper removed it empty), and would let them
// add nodes at their own address beside the service's and delete the
// service's; so Register refuses it, with an error naming the directory,
// the ACL entry and the ways out. Turn this on while migrating from the
// older plugin, whose directories are open to everyone. Without
// credentials everything is open and nothing is checked.
func OpenDirs(accept bool) registry.Option {
	return setting(engine.OpenDirs(accept))
}

// Curator makes the registry also discover the services that Java
// services register in Apache Curator's service discovery format (Spring
// Cloud Zookeeper, curator-x-discovery, Dubbo) under base, below the
// chroot: each instance is a node of its service in GetService,
// ListServices and watchers, mapped as docs/curator.md says (address
// host:port, the rest in node metadata, curator.origin "curator"). A
// malformed instance is skipped and logged. base "" is DefaultCuratorBase
// ("/services"). Default: off, or the base path EnvCurator gives, true
// meaning the default one; nothing is read or written under base when it
// is off.
func Curator(base string) registry.Option {
	return setting(engine.Curator(base))
}

// PublishCurator, with true, also registers every node of the registry as
// an Apache Curator service instance under Curator's base
// (DefaultCuratorBase unless Curator gives another), ephemeral, owned,
// restored after an expiry and guarded exactly like the node in the
// registry's own layout, with Spring Cloud Zookeeper's payload, so that
// Curator's ServiceDiscovery and ServiceCache and Spring's DiscoveryClient
// find go-micro services (docs/curator.md). A service name or node id
// that is not one valid ZooKeeper path segment as it is cannot be
// published, and Register refuses it. Default false, or EnvPublishCurator.
func PublishCurator(on bool) registry.Option {
	return setting(engine.PublishCurator(on))
}

// engineOptions converts go-micro's options to the engine's.
func engineOptions(o registry.Options) engine.Options {
	var settings []engine.Option
	if o.Context != nil {
		settings, _ = o.Context.Value(settingsKey{}).([]engine.Option)
	}
	return engine.Options{
		Addrs:     o.Addrs,
		Timeout:   o.Timeout,
		Secure:    o.Secure,
		TLSConfig: o.TLSConfig,
		Logger:    microlog.New(o.Logger),
		Settings:  settings,
	}
}
