package zkconfig

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/logger"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/microlog"
)

// The options table of README.md is made from the doc comments below.
//go:generate go run ../internal/cmd/gendocs zkconfig-options

// Defaults applied when an option is not given.
const (
	// DefaultAddress is the ZooKeeper server used when WithAddress is not
	// given.
	DefaultAddress = engine.DefaultAddress
	// DefaultPrefix is the znode whose subtree is the configuration.
	DefaultPrefix = defaultPrefix
	// DefaultTimeout bounds Read's wait for the subtree to be in sync and
	// each Write, when Timeout is not given.
	DefaultTimeout = engine.DefaultTimeout
	// DefaultSessionTimeout is the ZooKeeper session timeout asked for when
	// SessionTimeout is not given (nor the registry's
	// MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT).
	DefaultSessionTimeout = engine.DefaultSessionTimeout
)

// settingsKey holds the source's options in source.Options.Context, as a
// []func(*settings) applied in order.
type settingsKey struct{}

// settings are the source's options as given.
type settings struct {
	addrs     []string
	prefix    string
	timeout   time.Duration
	tlsConfig *tls.Config
	logger    logger.Logger
	private   bool
	aclSet    bool
	engine    []engine.Option // session timeout, credentials, ACL
}

// setting returns a source.Option that adds f to the source's options.
func setting(f func(*settings)) source.Option {
	return func(o *source.Options) {
		if o.Context == nil {
			o.Context = context.Background()
		}
		prev, _ := o.Context.Value(settingsKey{}).([]func(*settings))
		o.Context = context.WithValue(o.Context, settingsKey{}, append(prev[:len(prev):len(prev)], f))
	}
}

// WithAddress sets the ZooKeeper servers, host[:port] each (a
// comma-separated entry is split); a chroot may end the list, as in the
// registry: WithAddress("zk1:2181", "zk2:2181/apps/prod") roots the prefix
// under /apps/prod. Default DefaultAddress (127.0.0.1:2181). Later calls
// replace earlier ones.
func WithAddress(addrs ...string) source.Option {
	addrs = slices.Clone(addrs)
	return setting(func(s *settings) { s.addrs = addrs })
}

// WithPrefix sets the znode whose subtree is the configuration. Default
// DefaultPrefix ("/micro-config"); an absolute, clean path other than "/",
// whose segments ZooKeeper accepts as they are.
func WithPrefix(p string) source.Option {
	return setting(func(s *settings) { s.prefix = p })
}

// SessionTimeout sets the ZooKeeper session timeout. Default
// DefaultSessionTimeout (10 s), or the duration in the registry's
// MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT; at least 1 ms, and the server
// clamps it to its bounds. The source holds no ephemeral znode: the
// session only bounds how long a disconnection keeps the watches.
func SessionTimeout(d time.Duration) source.Option {
	return setting(func(s *settings) { s.engine = append(s.engine, engine.SessionTimeout(d)) })
}

// Auth adds credentials presented on every session, e.g.
// Auth("digest", []byte("user:password")); it may be given more than once.
// Default: none, or those of the registry's MICRO_REGISTRY_ZOOKEEPER_AUTH.
// Credentials are never logged nor put in errors.
func Auth(scheme string, credential []byte) source.Option {
	return setting(func(s *settings) { s.engine = append(s.engine, engine.Auth(scheme, credential)) })
}

// TLSConfig turns on TLS to ZooKeeper's secure client port with this
// configuration (a clone of it is used). Default: plaintext, unless the
// registry's MICRO_REGISTRY_ZOOKEEPER_TLS* variables configure TLS.
func TLSConfig(c *tls.Config) source.Option {
	return setting(func(s *settings) { s.tlsConfig = c })
}

// ACL sets the access control list of the znodes Write creates: the keys,
// the prefix, and the prefix's missing ancestors. Default: with
// credentials, all permissions for the creator's identity and read for
// everyone (the ancestors also let everyone create, so that other services
// can keep their configuration beside); without credentials,
// zk.WorldACL(zk.PermAll). The list must not be empty; an "auth" entry
// needs credentials. It cannot be combined with Private.
func ACL(acl ...zk.ACL) source.Option {
	acl = slices.Clone(acl)
	return setting(func(s *settings) {
		s.engine = append(s.engine, engine.ACL(acl...))
		s.aclSet = true
	})
}

// Private makes the znodes Write creates for the configuration (the prefix
// and the keys) readable and writable only with the source's credentials:
// their ACL gives all permissions to the creator's identity and nothing to
// anyone else, for configuration that holds secrets. The prefix's missing
// ancestors keep the default ACL (their names are not secret). It needs
// credentials (Auth, or MICRO_REGISTRY_ZOOKEEPER_AUTH) and cannot be
// combined with ACL. Znodes that exist already keep their ACL. Default:
// off (the znodes get the ACL option's list, or the default ACL).
func Private() source.Option {
	return setting(func(s *settings) { s.private = true })
}

// Timeout bounds Read's wait for the subtree to be in sync with ZooKeeper
// and each Write, retries included. Default DefaultTimeout (5 s); it must
// not be negative.
func Timeout(d time.Duration) source.Option {
	return setting(func(s *settings) { s.timeout = d })
}

// Logger sets the logger of the source's background work (session changes,
// znodes it leaves out of the configuration). Default go-micro's
// logger.DefaultLogger.
func Logger(l logger.Logger) source.Option {
	return setting(func(s *settings) { s.logger = l })
}

// resolve applies the options in o's context over the defaults.
func resolve(o source.Options) settings {
	s := settings{prefix: defaultPrefix}
	if o.Context != nil {
		fs, _ := o.Context.Value(settingsKey{}).([]func(*settings))
		for _, f := range fs {
			f(&s)
		}
	}
	return s
}

// engineOptions returns the engine's options for s.
func (s settings) engineOptions() engine.Options {
	return engine.Options{
		Addrs:     s.addrs,
		Timeout:   s.timeout,
		TLSConfig: s.tlsConfig,
		Logger:    microlog.New(s.logger),
		Settings:  append(slices.Clone(s.engine), engine.Prefix(s.prefix)),
	}
}

// creatorOnly is Private's ACL: everything for the creator's identity.
var creatorOnly = []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}}

// nodeACL returns the ACL of the znodes Write creates, for cfg, or why the
// options are invalid.
func (s settings) nodeACL(cfg engine.Config) ([]zk.ACL, error) {
	switch {
	case !s.private:
		return cfg.NodeACL(), nil
	case s.aclSet:
		return nil, errors.New("zookeeper: config options: Private and ACL cannot be combined")
	case !cfg.Authenticated():
		return nil, errors.New("zookeeper: config options: Private needs credentials (Auth, or " + engine.EnvAuth + "): without them nobody could read what the source writes")
	}
	return slices.Clone(creatorOnly), nil
}
