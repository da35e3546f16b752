package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// Defaults applied when an option is not given.
const (
	// DefaultAddress is the ZooKeeper server used when no address is given.
	DefaultAddress = "127.0.0.1:2181"
	// DefaultPrefix is the znode under which services are registered.
	DefaultPrefix = "/micro-registry"
	// DefaultTimeout bounds the wait for a connection and each call when
	// no timeout is given.
	DefaultTimeout = 5 * time.Second
	// DefaultSessionTimeout is the ZooKeeper session timeout asked for when
	// SessionTimeout is not given. The server may adjust it to lie within
	// its own bounds (2 and 20 tickTimes; 4 s and 40 s with tickTime=2000).
	DefaultSessionTimeout = 10 * time.Second
	// DefaultMirrorIdle is how long a mirrored service nobody watches
	// stays in memory after its last lookup.
	DefaultMirrorIdle = 10 * time.Minute
	// DefaultReadConcurrency is the number of reads kept in flight on a
	// session when many znodes are read at once.
	DefaultReadConcurrency = 64
)

// Environment variables read when the corresponding option is not given,
// for services that select the registry with --registry=zookeeper and so
// cannot pass options in code.
const (
	// EnvAuth supplies credentials: a comma-separated list of
	// scheme:credential, e.g. "digest:user:password".
	EnvAuth = "MICRO_REGISTRY_ZOOKEEPER_AUTH"
	// EnvSessionTimeout sets the session timeout, a Go duration ("4s").
	EnvSessionTimeout = "MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT"
	// EnvOpenDirs, when true, accepts service directories whose ACL lets
	// other identities change them (see OpenDirs).
	EnvOpenDirs = "MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS"
	// EnvCurator turns on reading Curator's service discovery layout (see
	// Curator): a base path, or "true" for DefaultCuratorBase.
	EnvCurator = "MICRO_REGISTRY_ZOOKEEPER_CURATOR"
	// EnvPublishCurator, when true, publishes every node in Curator's
	// layout too (see PublishCurator).
	EnvPublishCurator = "MICRO_REGISTRY_ZOOKEEPER_PUBLISH_CURATOR"
)

// Options configure a Client or a Registry: the settings go-micro's
// registry.Options carry, and the plugin's own (Settings).
type Options struct {
	// Addrs are ZooKeeper servers, host[:port], in any number of entries
	// (a comma-separated entry is split); a chroot may end the last one
	// ("h1:2181,h2:2181/apps/prod"). Default DefaultAddress.
	Addrs []string
	// Timeout bounds the wait for a session and each call. Default
	// DefaultTimeout; negative is an error.
	Timeout time.Duration
	// Secure turns on TLS with the system's trusted CAs when TLSConfig is
	// nil and the environment does not configure TLS.
	Secure bool
	// TLSConfig, when set, is used to dial (a clone of it).
	TLSConfig *tls.Config
	// Logger receives log lines from background work. Default: none.
	Logger Logger
	// Settings are the plugin's own options, applied in order.
	Settings []Option
}

// Option is one of the plugin's own settings (SessionTimeout, Prefix, Auth
// and the rest); the go-micro faces carry them in registry.Options.Context.
type Option func(*settings)

// settings are the plugin's own options as given, before validation.
type settings struct {
	sessionTimeout  *time.Duration
	prefix          *string
	auth            []authCred
	authSet         bool
	acl, dirACL     []zk.ACL
	aclSet, dirSet  bool
	mirrorReads     *bool
	mirrorIdle      *time.Duration
	readConcurrency *int
	openDirs        *bool
	curatorBase     *string
	publishCurator  *bool
}

// SessionTimeout sets the ZooKeeper session timeout: how long the server
// keeps the session, and with it the ephemeral nodes, after it last heard
// from the client. Default DefaultSessionTimeout, or EnvSessionTimeout; at
// least 1 ms, and the server clamps it to its bounds.
func SessionTimeout(d time.Duration) Option {
	return func(s *settings) { s.sessionTimeout = &d }
}

// Prefix sets the znode under which services are registered. Default
// DefaultPrefix; an absolute, clean path other than "/". A chroot in the
// address comes before it.
func Prefix(p string) Option {
	return func(s *settings) { s.prefix = &p }
}

// Auth adds credentials presented on every session. It may be given more
// than once. Default: none, or those in EnvAuth. A digest credential must
// be "user:password". Credentials are never logged nor put in errors (a
// digest user name may be).
func Auth(scheme string, credential []byte) Option {
	c := authCred{scheme: scheme, credential: slices.Clone(credential)}
	return func(s *settings) {
		s.auth = append(slices.Clone(s.auth), c)
		s.authSet = true
	}
}

// ACL sets the ACL of the node znodes created, and of the directories too
// unless DirACL is given. See defaultACLs for the default.
func ACL(acl ...zk.ACL) Option {
	acl = slices.Clone(acl)
	return func(s *settings) { s.acl, s.aclSet = acl, true }
}

// DirACL sets the ACL of the directories created: the prefix (with a
// chroot's missing ancestors) and each service directory.
func DirACL(acl ...zk.ACL) Option {
	acl = slices.Clone(acl)
	return func(s *settings) { s.dirACL, s.dirSet = acl, true }
}

// MirrorReads chooses whether GetService and ListServices answer from the
// watch-fed mirror when it is in sync. Default true.
func MirrorReads(on bool) Option {
	return func(s *settings) { s.mirrorReads = &on }
}

// MirrorIdle sets how long a mirrored service that no watcher follows
// stays in memory after its last lookup. Default DefaultMirrorIdle; it must
// be positive.
func MirrorIdle(d time.Duration) Option {
	return func(s *settings) { s.mirrorIdle = &d }
}

// ReadConcurrency sets how many reads are kept in flight on the session
// when many znodes are read at once. Default DefaultReadConcurrency; 1 to
// 1024.
func ReadConcurrency(n int) Option {
	return func(s *settings) { s.readConcurrency = &n }
}

// OpenDirs, with credentials, accepts service directories whose ACL lets
// identities other than the registry's own (and those DirACL names) write,
// create, delete or administer them. Default false (or EnvOpenDirs): such a
// directory, which anyone could have created before the service's first
// registration, would let them add nodes beside the service's and delete
// its own, so Register refuses it. Turn it on for directories written by
// the older plugin, which are open to everyone, while migrating.
func OpenDirs(accept bool) Option {
	return func(s *settings) { s.openDirs = &accept }
}

// Curator makes the registry also discover the services registered in
// Apache Curator's service discovery format (Spring Cloud Zookeeper,
// curator-x-discovery, Dubbo) under base, below the chroot: each instance
// is a node of its service, read through GetService, ListServices and
// watchers with our own (see curator.go for the mapping). base "" is
// DefaultCuratorBase ("/services"). Default: off (or EnvCurator), nothing
// is read or written under base.
func Curator(base string) Option {
	if base == "" {
		base = DefaultCuratorBase
	}
	return func(s *settings) { s.curatorBase = &base }
}

// PublishCurator, with true, also registers every node of the registry as
// a Curator service instance under Curator's base (DefaultCuratorBase
// unless Curator sets another), ephemeral, owned, restored and guarded as
// the node in our layout, so that Curator's ServiceDiscovery and Spring's
// DiscoveryClient find go-micro services. Default false, or
// EnvPublishCurator.
func PublishCurator(on bool) Option {
	return func(s *settings) { s.publishCurator = &on }
}

// authCred is one credential. Its String never shows the secret.
type authCred struct {
	scheme     string
	credential []byte
}

// Config is Options resolved and validated once.
type Config struct {
	servers         []string // host:port, in the order given
	chroot          string   // "" or a path like /apps/prod, from the address
	layout          layout   // root = chroot + prefix
	timeout         time.Duration
	sessionTimeout  time.Duration
	auth            []authCred
	nodeACL         []zk.ACL    // ephemeral node znodes
	dirACL          []zk.ACL    // service directories
	rootACL         []zk.ACL    // the root and the ancestors the registry creates
	tls             *tls.Config // TLSConfig, or Secure alone
	tlsEnv          tlsSettings // TLS from the environment, when tls is nil
	mirrorReads     bool
	mirrorIdle      time.Duration
	readConcurrency int
	openDirs        bool
	curatorBase     string // the Curator layout's base; "" when it is neither read nor published
	readCurator     bool   // the Curator layout is read
	publishCurator  bool   // nodes are published in the Curator layout too
	logger          Logger
}

// NewConfig applies defaults to o and validates the result. Errors are
// prefixed "zookeeper: " and never hold a secret.
func NewConfig(o Options) (Config, error) {
	c, err := newConfig(o)
	if err != nil {
		return c, fmt.Errorf("zookeeper: %w", err)
	}
	return c, nil
}

func newConfig(o Options) (Config, error) {
	var s settings
	for _, opt := range o.Settings {
		if opt != nil {
			opt(&s)
		}
	}
	c := Config{
		timeout:         o.Timeout,
		sessionTimeout:  DefaultSessionTimeout,
		mirrorReads:     true,
		mirrorIdle:      DefaultMirrorIdle,
		readConcurrency: DefaultReadConcurrency,
		logger:          o.Logger,
	}
	if c.logger == nil {
		c.logger = nopLogger{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.timeout < 0 {
		return c, fmt.Errorf("timeout %v is negative", c.timeout)
	}

	var err error
	if c.servers, c.chroot, err = parseAddrs(o.Addrs); err != nil {
		return c, err
	}

	prefix := DefaultPrefix
	if s.prefix != nil {
		prefix = *s.prefix
	}
	if err := validatePrefix(prefix); err != nil {
		return c, err
	}
	c.layout = layout{root: c.chroot + prefix}

	if c.sessionTimeout, err = sessionTimeout(s.sessionTimeout); err != nil {
		return c, err
	}
	if d := s.mirrorIdle; d != nil {
		if *d <= 0 {
			return c, fmt.Errorf("mirror idle time %v is not positive", *d)
		}
		c.mirrorIdle = *d
	}
	if s.mirrorReads != nil {
		c.mirrorReads = *s.mirrorReads
	}
	if n := s.readConcurrency; n != nil {
		if *n < 1 || *n > 1024 {
			return c, fmt.Errorf("read concurrency %d is outside 1..1024", *n)
		}
		c.readConcurrency = *n
	}
	if c.openDirs, err = boolSetting(s.openDirs, EnvOpenDirs); err != nil {
		return c, err
	}
	if c.publishCurator, err = boolSetting(s.publishCurator, EnvPublishCurator); err != nil {
		return c, err
	}
	if s.curatorBase == nil {
		if v := os.Getenv(EnvCurator); v != "" {
			base := v
			if on, err := strconv.ParseBool(v); err == nil {
				if !on {
					base = ""
				} else {
					base = DefaultCuratorBase
				}
			}
			if base != "" {
				s.curatorBase = &base
			}
		}
	}
	c.readCurator = s.curatorBase != nil
	if s.curatorBase != nil || c.publishCurator {
		c.curatorBase = DefaultCuratorBase
		if s.curatorBase != nil {
			c.curatorBase = *s.curatorBase
		}
		if _, err := newCuratorLayout(c.chroot, c.curatorBase); err != nil {
			return c, err
		}
		if c.curatorBase == prefix {
			return c, fmt.Errorf("curator base path %s is the registry's prefix", quoteShort(c.curatorBase))
		}
	}

	if s.authSet {
		c.auth = s.auth
	} else if env := os.Getenv(EnvAuth); env != "" {
		if c.auth, err = parseAuthEnv(env); err != nil {
			return c, err
		}
	}
	for _, a := range c.auth {
		if err := a.validate(); err != nil {
			return c, err
		}
	}

	c.nodeACL, c.dirACL, c.rootACL = defaultACLs(len(c.auth) > 0)
	if s.aclSet {
		if err := validateACL("ACL", s.acl, len(c.auth) > 0); err != nil {
			return c, err
		}
		c.nodeACL, c.dirACL, c.rootACL = s.acl, s.acl, s.acl
	}
	if s.dirSet {
		if err := validateACL("DirACL", s.dirACL, len(c.auth) > 0); err != nil {
			return c, err
		}
		c.dirACL, c.rootACL = s.dirACL, s.dirACL
	}

	if o.TLSConfig != nil {
		c.tls = o.TLSConfig
	} else {
		if c.tlsEnv, err = tlsFromEnv(); err != nil {
			return c, err
		}
		if o.Secure && !c.tlsEnv.on {
			c.tls = defaultTLS
		}
	}
	return c, nil
}

// sessionTimeout resolves the session timeout from the option or the
// environment.
func sessionTimeout(opt *time.Duration) (time.Duration, error) {
	d := DefaultSessionTimeout
	switch env := os.Getenv(EnvSessionTimeout); {
	case opt != nil:
		d = *opt
	case env != "":
		var err error
		if d, err = time.ParseDuration(env); err != nil {
			return 0, fmt.Errorf("%s=%q is not a duration such as 10s", EnvSessionTimeout, env)
		}
	}
	if d < time.Millisecond {
		return 0, fmt.Errorf("session timeout %v is below 1ms", d)
	}
	return d, nil
}

// boolSetting resolves a boolean from the option or the environment
// variable env; false when neither is set.
func boolSetting(opt *bool, env string) (bool, error) {
	if opt != nil {
		return *opt, nil
	}
	v := os.Getenv(env)
	if v == "" {
		return false, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean", env, v)
	}
	return on, nil
}

// Servers returns the ZooKeeper servers, host:port.
func (c Config) Servers() []string { return slices.Clone(c.servers) }

// Chroot returns the chroot given in the address, "" if none.
func (c Config) Chroot() string { return c.chroot }

// Root returns the znode holding the services: chroot + prefix.
func (c Config) Root() string { return c.layout.root }

// Timeout returns the bound on a session wait and each call.
func (c Config) Timeout() time.Duration { return c.timeout }

// SessionTimeout returns the session timeout asked for.
func (c Config) SessionTimeout() time.Duration { return c.sessionTimeout }

// Authenticated reports whether credentials are configured.
func (c Config) Authenticated() bool { return len(c.auth) > 0 }

// Secure reports whether connections use TLS.
func (c Config) Secure() bool { return c.tls != nil || c.tlsEnv.on }

// Logger returns the logger.
func (c Config) Logger() Logger { return c.logger }

// NodeACL returns the ACL of the znodes a face creates for its data: the
// registry's node znodes, a config source's keys. See ACL.
func (c Config) NodeACL() []zk.ACL { return slices.Clone(c.nodeACL) }

// RootACL returns the ACL given to the root and its ancestors when they
// are created. See ACL and DirACL.
func (c Config) RootACL() []zk.ACL { return slices.Clone(c.rootACL) }

// validate refuses a credential ZooKeeper would misread, without ever
// showing it.
func (a authCred) validate() error {
	if a.scheme == "" || len(a.credential) == 0 {
		return errors.New("auth needs a scheme and a credential")
	}
	if a.scheme == "digest" {
		user, _, ok := strings.Cut(string(a.credential), ":")
		if !ok || user == "" {
			return errors.New(`a digest credential must be "user:password" (the value given has no user part; it is not shown)`)
		}
	}
	return nil
}

// digestID returns the ZooKeeper identity of a digest credential,
// "user:base64(sha1(user:password))", as it appears in ACLs.
func (a authCred) digestID() (string, bool) {
	if a.scheme != "digest" {
		return "", false
	}
	user, password, _ := strings.Cut(string(a.credential), ":")
	acl := zk.DigestACL(0, user, password)
	return acl[0].ID, true
}

// defaultACLs returns the ACLs of nodes, service directories and the root
// when neither ACL nor DirACL is given.
//
// With credentials: ZooKeeper checks CREATE and DELETE on the parent and
// WRITE and ADMIN on the znode, and has no "any authenticated client" id.
// So a node is creator-ALL plus world-READ: only its credentials change it
// or its ACL. A service directory is the same: only the credentials that
// created it (the service's first registration) add or delete its nodes,
// which keeps clients without them from deleting, replacing or adding nodes
// of a live service; the price is that these credentials may delete any
// node of the service, and other credentials cannot join it unless DirACL
// lets them. The root also grants world CREATE, so that any client can
// start a service of its own: without it, the first credentials to create
// the root would lock every other identity out. Anyone may therefore
// create a service directory before its service does; Register checks the
// ACL of a directory it did not create (see OpenDirs).
func defaultACLs(authenticated bool) (node, dir, root []zk.ACL) {
	if !authenticated {
		open := zk.WorldACL(zk.PermAll)
		return open, open, open
	}
	creator := zk.ACL{Perms: zk.PermAll, Scheme: "auth", ID: ""}
	node = []zk.ACL{creator, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}
	root = []zk.ACL{creator, {Perms: zk.PermRead | zk.PermCreate, Scheme: "world", ID: "anyone"}}
	return node, node, root
}

// DefaultACLs returns the ACLs a registry gives, without ACL and DirACL
// options, to its node znodes, its service directories and its root and
// the root's ancestors, with credentials (authenticated) or without. Other
// faces that write to ZooKeeper (the config source) use the same.
func DefaultACLs(authenticated bool) (node, dir, root []zk.ACL) {
	return defaultACLs(authenticated)
}

// ValidateACL checks an ACL given with option (its name, for the error)
// as the registry's ACL and DirACL options are: not empty, a scheme in
// every entry, known permission bits, an "auth" entry only with
// credentials. Errors are not prefixed.
func ValidateACL(option string, acl []zk.ACL, authenticated bool) error {
	return validateACL(option, acl, authenticated)
}

// validateACL checks what ZooKeeper would refuse with a less helpful
// InvalidACL on the first write.
func validateACL(option string, acl []zk.ACL, authenticated bool) error {
	if len(acl) == 0 {
		return fmt.Errorf("%s option with an empty list", option)
	}
	for _, a := range acl {
		switch {
		case a.Scheme == "":
			return fmt.Errorf("%s entry %+v has no scheme", option, a)
		case a.Perms&^zk.PermAll != 0:
			return fmt.Errorf("%s entry for %s has unknown permission bits %#x", option, a.Scheme, a.Perms)
		case a.Scheme == "auth" && !authenticated:
			return fmt.Errorf("%s entry with scheme \"auth\" (the creator's identity) needs credentials: see Auth and %s", option, EnvAuth)
		}
	}
	return nil
}

// identity describes, for error messages, whom ZooKeeper sees: the schemes
// and digest user names of the credentials, never a secret.
func (c Config) identity() string {
	if len(c.auth) == 0 {
		return "this client, which has no credentials (see Auth and " + EnvAuth + ")"
	}
	var ids []string
	digest := false
	for _, a := range c.auth {
		if a.scheme == "digest" {
			user, _, _ := strings.Cut(string(a.credential), ":")
			ids = append(ids, "digest user "+quoteShort(user))
			digest = true
		} else {
			ids = append(ids, "scheme "+quoteShort(a.scheme))
		}
	}
	s := "this client's credentials (" + strings.Join(ids, ", ")
	if digest {
		// ZooKeeper accepts any digest password: a wrong one is just
		// another identity, refused where the right one would be allowed.
		s += "; ZooKeeper accepts any digest password, so a wrong password shows up as this refusal"
	}
	return s + ")"
}

// parseAddrs normalises addresses to host:port and extracts the chroot
// that a ZooKeeper connect string may end with ("h1:2181,h2:2181/apps/prod").
// No address at all means DefaultAddress; addresses that are all blank are
// an error; blank entries among others are skipped.
// go-micro splits --registry_address on commas, so the chroot arrives
// attached to the last address; an entry holding commas is split here.
func parseAddrs(addrs []string) (servers []string, chroot string, err error) {
	var entries []string
	for _, a := range addrs {
		entries = append(entries, strings.Split(a, ",")...)
	}
	blank := 0
	for _, a := range entries {
		a = strings.TrimSpace(a)
		if a == "" {
			blank++
			continue
		}
		if i := strings.IndexByte(a, '/'); i >= 0 {
			root := strings.TrimRight(a[i:], "/")
			if root != "" {
				if root != path.Clean(root) {
					return nil, "", fmt.Errorf("chroot %s in address %s is not a clean path", quoteShort(root), quoteShort(a))
				}
				if chroot != "" && chroot != root {
					return nil, "", fmt.Errorf("addresses name two chroots, %s and %s", quoteShort(chroot), quoteShort(root))
				}
				chroot = root
			}
			a = a[:i]
			if a == "" {
				continue
			}
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			// A bare host, as ZooKeeper connect strings allow.
			host, port = strings.Trim(a, "[]"), "2181"
		}
		if host == "" || strings.ContainsAny(host, " \t") {
			return nil, "", fmt.Errorf("address %s has no valid host", quoteShort(a))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, "", fmt.Errorf("address %s has no valid port", quoteShort(a))
		}
		servers = append(servers, net.JoinHostPort(host, port))
	}
	if len(entries) > 0 && blank == len(entries) {
		// Addrs("") or Addrs(" "): an address was given, and it is empty.
		// Taking the default would move a registry to another ensemble.
		return nil, "", fmt.Errorf("address list %s holds no address", quoteShort(strings.Join(addrs, ",")))
	}
	if len(servers) == 0 {
		servers = []string{DefaultAddress}
	}
	return servers, chroot, nil
}

func validatePrefix(p string) error {
	if p == "" || p[0] != '/' || p == "/" || path.Clean(p) != p {
		return fmt.Errorf("prefix %s must be an absolute, clean path other than /", quoteShort(p))
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if EscapeSegment(seg) != seg {
			return fmt.Errorf("prefix %s has a segment ZooKeeper cannot store: %s", quoteShort(p), quoteShort(seg))
		}
	}
	return nil
}

// parseAuthEnv parses EnvAuth: "scheme:credential[,scheme:credential...]".
func parseAuthEnv(v string) ([]authCred, error) {
	var creds []authCred
	for _, item := range strings.Split(v, ",") {
		scheme, cred, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok || scheme == "" || cred == "" {
			// Never echo the value: it holds a secret.
			return nil, fmt.Errorf("%s must be scheme:credential[,scheme:credential]", EnvAuth)
		}
		a := authCred{scheme: scheme, credential: []byte(cred)}
		if err := a.validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvAuth, err)
		}
		creds = append(creds, a)
	}
	return creds, nil
}

// sameSession reports whether c and d produce the same ZooKeeper session:
// if not, Init must replace the connection.
func (c Config) sameSession(d Config) bool {
	return slices.Equal(c.servers, d.servers) && c.layout == d.layout && c.curatorBase == d.curatorBase && c.publishCurator == d.publishCurator &&
		c.sessionTimeout == d.sessionTimeout && c.tls == d.tls && c.tlsEnv == d.tlsEnv &&
		slices.EqualFunc(c.auth, d.auth, func(a, b authCred) bool {
			return a.scheme == b.scheme && string(a.credential) == string(b.credential)
		})
}
