package zkconfig

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/configdoc"
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
	DefaultPrefix = configdoc.DefaultPrefix
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
	acl       []zk.ACL
	aclSet    bool
	openTree  *bool           // nil: the registry's EnvOpenDirs decides
	session   []engine.Option // session timeout, credentials
	client    *engine.Client  // WithRegistry's: the session to share
	sharing   bool            // WithRegistry was given
	// connection options given, which WithRegistry's registry decides
	connOptions []string
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
	return setting(func(s *settings) { s.addrs = addrs; s.conn("WithAddress") })
}

// WithRegistry makes the source use the session of reg, a registry this
// module's NewRegistry returned (github.com/zkmicro/zookeeper): its
// servers, chroot, credentials and TLS, its connection and its keeper, so
// that a service that registers and loads its configuration from
// ZooKeeper holds one session. Closing the source leaves the registry
// and its nodes alone; closing the registry ends the source too, whose
// calls then fail saying so. The options that choose a session of its own
// (WithAddress, SessionTimeout, Auth, TLSConfig) cannot be combined with
// it; WithPrefix, ACL, Private, Timeout (default: the registry's) and
// Logger (default: the registry's) apply to the source alone. A registry
// that is not this module's is refused by every call. Default: none, the
// source holds a session of its own.
func WithRegistry(reg registry.Registry) source.Option {
	var c *engine.Client
	if e, ok := reg.(interface{ Engine() *engine.Registry }); ok && e.Engine() != nil {
		c = e.Engine().Client()
	}
	return setting(func(s *settings) { s.client, s.sharing = c, true })
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
	return setting(func(s *settings) { s.session = append(s.session, engine.SessionTimeout(d)); s.conn("SessionTimeout") })
}

// Auth adds credentials presented on every session, e.g.
// Auth("digest", []byte("user:password")); it may be given more than once.
// Default: none, or those of the registry's MICRO_REGISTRY_ZOOKEEPER_AUTH.
// Credentials are never logged nor put in errors.
func Auth(scheme string, credential []byte) source.Option {
	return setting(func(s *settings) { s.session = append(s.session, engine.Auth(scheme, credential)); s.conn("Auth") })
}

// TLSConfig turns on TLS to ZooKeeper's secure client port with this
// configuration (a clone of it is used). Default: plaintext, unless the
// registry's MICRO_REGISTRY_ZOOKEEPER_TLS* variables configure TLS.
func TLSConfig(c *tls.Config) source.Option {
	return setting(func(s *settings) { s.tlsConfig = c; s.conn("TLSConfig") })
}

// ACL sets the access control list of the znodes Write and SetKey create
// where no existing znode decides: the prefix and its missing ancestors,
// and, without credentials (the source then reads no ACL), every key. A
// key created below an existing znode takes that znode's ACL instead, so
// that nothing the source writes lets anyone read what they could not
// (see README.md). The identities it names may also change the
// configuration's znodes without them being refused (see OpenTree).
// Default: with credentials, all permissions for the creator's identity
// and read for everyone (the ancestors also let everyone create, so that
// other services can keep their configuration beside); without
// credentials, zk.WorldACL(zk.PermAll). The list must not be empty; an
// "auth" entry needs credentials. It cannot be combined with Private.
func ACL(acl ...zk.ACL) source.Option {
	acl = slices.Clone(acl)
	return setting(func(s *settings) { s.acl, s.aclSet = acl, true })
}

// Private makes the znodes Write and SetKey create for the configuration
// (the prefix and the keys) readable and writable only with the source's
// credentials: their ACL gives all permissions to the creator's identity
// and nothing to anyone else, for configuration that holds secrets, even
// below an existing znode whose ACL is wider. The prefix's missing
// ancestors keep the default ACL (their names are not secret). It needs
// credentials (Auth, or MICRO_REGISTRY_ZOOKEEPER_AUTH) and cannot be
// combined with ACL. Znodes that exist already keep their ACL. Default:
// off (the prefix gets the ACL option's list, or the default ACL, and a
// key its parent's ACL).
func Private() source.Option {
	return setting(func(s *settings) { s.private = true })
}

// OpenTree, with true, accepts a configuration whose prefix or znodes let
// identities other than the source's own (and those the ACL option names)
// create, write, delete or administer them. With credentials, such a
// configuration, which anyone could have created before the first Write
// (or opened since) to add keys beside the source's, change or delete
// them, is otherwise refused by Read, Write, SetKey and DeleteKey, and
// watchers wait (see README.md); without credentials everything is open
// and nothing is checked. Turn it on for a configuration that a tool left
// open, while you set its ACL. Default false, or the registry's
// MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS.
func OpenTree(accept bool) source.Option {
	return setting(func(s *settings) { s.openTree = &accept })
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
	s := settings{prefix: DefaultPrefix}
	if o.Context != nil {
		fs, _ := o.Context.Value(settingsKey{}).([]func(*settings))
		for _, f := range fs {
			f(&s)
		}
	}
	return s
}

// conn records that the connection option name was given.
func (s *settings) conn(name string) {
	if !slices.Contains(s.connOptions, name) {
		s.connOptions = append(s.connOptions, name)
	}
}

// validate returns why the options cannot make a source, nil if they can.
func (s settings) validate() error {
	switch {
	case s.sharing && s.client == nil:
		return errors.New("zookeeper: config options: WithRegistry needs a registry this module's NewRegistry returned (github.com/zkmicro/zookeeper)")
	case s.sharing && len(s.connOptions) > 0:
		return fmt.Errorf("zookeeper: config options: WithRegistry shares the registry's session (its servers, credentials and TLS); %s cannot be combined with it", strings.Join(s.connOptions, ", "))
	case s.timeout < 0:
		return fmt.Errorf("zookeeper: config options: timeout %v is negative", s.timeout)
	}
	if _, err := s.acceptsOpenTree(); err != nil {
		return err
	}
	return nil
}

// acceptsOpenTree returns whether the source accepts a configuration
// others may change: OpenTree's choice, else the registry's EnvOpenDirs.
func (s settings) acceptsOpenTree() (bool, error) {
	if s.openTree != nil {
		return *s.openTree, nil
	}
	v := os.Getenv(engine.EnvOpenDirs)
	if v == "" {
		return false, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("zookeeper: config options: %s=%q is not a boolean", engine.EnvOpenDirs, v)
	}
	return on, nil
}

// clientOptions returns the options of the source's own client.
func (s settings) clientOptions() engine.Options {
	return engine.Options{
		Addrs:     s.addrs,
		Timeout:   s.timeout,
		TLSConfig: s.tlsConfig,
		Logger:    microlog.New(s.logger),
		Settings:  slices.Clone(s.session),
	}
}

// treeOptions returns the options of the source's tree (an invalid
// EnvOpenDirs, which validate reports, accepts nothing).
func (s settings) treeOptions() engine.TreeOptions {
	o := engine.TreeOptions{Prefix: s.prefix, Timeout: s.timeout}
	if s.logger != nil {
		o.Logger = microlog.New(s.logger)
	}
	if s.aclSet {
		o.AncestorACL = s.acl
		o.AllowedACL = s.acl
	}
	o.OpenTree, _ = s.acceptsOpenTree()
	return o
}

// creatorOnly is Private's ACL: everything for the creator's identity.
var creatorOnly = []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}}

// nodeACL returns the ACL of the znodes a write creates where no parent's
// ACL decides (configdoc.ACLs.New: the prefix, and every key with Private
// or without credentials), for cfg (the configuration of the source's
// client), or why the options are invalid.
func (s settings) nodeACL(cfg engine.Config) ([]zk.ACL, error) {
	switch {
	case s.private && s.aclSet:
		return nil, errors.New("zookeeper: config options: Private and ACL cannot be combined")
	case s.private && !cfg.Authenticated():
		return nil, errors.New("zookeeper: config options: Private needs credentials (Auth, or " + engine.EnvAuth + "): without them nobody could read what the source writes")
	case s.private:
		return slices.Clone(creatorOnly), nil
	case s.aclSet:
		if err := engine.ValidateACL("ACL", s.acl, cfg.Authenticated()); err != nil {
			return nil, fmt.Errorf("zookeeper: config options: %w", err)
		}
		return slices.Clone(s.acl), nil
	}
	node, _, _ := engine.DefaultACLs(cfg.Authenticated())
	return node, nil
}
