package zookeeper

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
)

// Defaults applied when an option is not given.
const (
	// DefaultAddress is the ZooKeeper server used when registry.Addrs is empty.
	DefaultAddress = "127.0.0.1:2181"
	// DefaultPrefix is the znode under which services are registered.
	DefaultPrefix = "/micro-registry"
	// DefaultTimeout bounds the wait for a connection and each registry call
	// when registry.Timeout is not set.
	DefaultTimeout = 5 * time.Second
	// DefaultSessionTimeout is the ZooKeeper session timeout asked for when
	// SessionTimeout is not set. The server may adjust it to lie within its
	// own bounds (2 and 20 tickTimes; 4 s and 40 s with tickTime=2000).
	DefaultSessionTimeout = 10 * time.Second
	// DefaultMirrorIdle is how long a mirrored service nobody watches stays
	// in memory after its last lookup.
	DefaultMirrorIdle = 10 * time.Minute
	// DefaultReadConcurrency is the number of reads a registry keeps in
	// flight on its session when it reads many znodes at once.
	DefaultReadConcurrency = 64
)

// EnvAuth names the environment variable that supplies credentials when the
// registry is selected with --registry=zookeeper and no Auth option is given:
// a comma-separated list of scheme:credential, e.g. "digest:user:password".
const EnvAuth = "MICRO_REGISTRY_ZOOKEEPER_AUTH"

// EnvSessionTimeout names the environment variable that sets the session
// timeout (a Go duration, e.g. "4s") when the registry is selected with
// --registry=zookeeper and no SessionTimeout option is given.
const EnvSessionTimeout = "MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT"

// Environment variables that configure TLS when the registry is selected
// with --registry=zookeeper and no registry.TLSConfig is given (a TLSConfig
// option wins over all of them). Setting any of them turns TLS on, with
// certificate verification; EnvTLS=false together with one of the others is
// an error. Files are PEM and are read each time a connection is made, so
// rotated certificates are picked up by the next connection.
const (
	// EnvTLS turns TLS on ("1", "true") with the system's trusted CAs.
	EnvTLS = "MICRO_REGISTRY_ZOOKEEPER_TLS"
	// EnvTLSCA names a file of CA certificates to trust instead of the
	// system's.
	EnvTLSCA = "MICRO_REGISTRY_ZOOKEEPER_TLS_CA"
	// EnvTLSCert and EnvTLSKey name the client certificate and its private
	// key, for servers that require client certificates (ssl.clientAuth).
	// Both or neither.
	EnvTLSCert = "MICRO_REGISTRY_ZOOKEEPER_TLS_CERT"
	EnvTLSKey  = "MICRO_REGISTRY_ZOOKEEPER_TLS_KEY"
	// EnvTLSServerName is the name the server certificate must carry, when
	// it is not the host of the address dialled.
	EnvTLSServerName = "MICRO_REGISTRY_ZOOKEEPER_TLS_SERVER_NAME"
)

type (
	sessionTimeoutKey  struct{}
	prefixKey          struct{}
	authKey            struct{}
	aclKey             struct{}
	dirACLKey          struct{}
	mirrorReadsKey     struct{}
	mirrorIdleKey      struct{}
	readConcurrencyKey struct{}
)

// SessionTimeout sets the ZooKeeper session timeout: how long the server
// keeps this registry's session, and with it its ephemeral nodes, after it
// last heard from the client. A crashed process's nodes disappear after about
// this long. Default DefaultSessionTimeout (10 s), or the duration in the
// MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT environment variable; it must be
// at least 1 ms and the server clamps it to its bounds.
func SessionTimeout(d time.Duration) registry.Option {
	return contextOption(sessionTimeoutKey{}, d)
}

// Prefix sets the znode under which services are registered. Default
// DefaultPrefix ("/micro-registry"); it must be an absolute, clean path other
// than "/". A chroot given in the address ("host:2181/apps/prod") is placed
// before it.
func Prefix(p string) registry.Option {
	return contextOption(prefixKey{}, p)
}

// Auth adds credentials that the registry presents to ZooKeeper on every
// session, e.g. Auth("digest", []byte("user:password")). It may be given
// more than once. Default: none, or those in the MICRO_REGISTRY_ZOOKEEPER_AUTH
// environment variable. With credentials set, the znodes the registry creates
// are readable by anyone and can be changed or deleted only with the same
// credentials, unless ACL or DirACL say otherwise. Credentials are never
// logged nor put in errors (a digest user name may be).
func Auth(scheme string, credential []byte) registry.Option {
	return func(o *registry.Options) {
		prev, _ := optionValue[[]authCred](o, authKey{})
		creds := append(slices.Clone(prev), authCred{scheme: scheme, credential: slices.Clone(credential)})
		contextOption(authKey{}, creds)(o)
	}
}

// ACL sets the access control list of the node znodes the registry creates
// (the registrations), and of the directories too unless DirACL is given.
// Default: zk.WorldACL(zk.PermAll) without credentials; with credentials,
// all permissions for the creator's identity and read for everyone, so that
// only the credentials that registered a node can change it. The list must
// not be empty; an "auth" entry needs credentials.
func ACL(acl ...zk.ACL) registry.Option {
	return contextOption(aclKey{}, slices.Clone(acl))
}

// DirACL sets the access control list of the directories the registry
// creates: the prefix (with a chroot's missing ancestors) and each service
// directory. ZooKeeper checks CREATE and DELETE on a node's parent, so the
// ACL of a service directory decides who may add nodes to the service and
// who may delete any of them. Default without credentials:
// zk.WorldACL(zk.PermAll). With credentials: service directories give all
// permissions to the creator's identity and read to everyone, so only the
// credentials that first registered a service can add or remove its nodes;
// the prefix also lets everyone create (a service directory of their own).
// The list must not be empty; an "auth" entry needs credentials.
func DirACL(acl ...zk.ACL) registry.Option {
	return contextOption(dirACLKey{}, slices.Clone(acl))
}

// MirrorReads chooses whether GetService and ListServices answer from the
// registry's watch-fed mirror of ZooKeeper when it is in sync. Default true.
// With false, every call reads ZooKeeper (watchers still use the mirror).
//
// Mirror reads are as consistent as reads from a ZooKeeper follower: an
// answer may lag a change made elsewhere by the time its watch event and
// the one or two reads it triggers take (about a millisecond on loopback),
// and never goes backwards. The registry's own Register and Deregister are
// seen at once by its later calls. While the session is disconnected,
// calls read ZooKeeper (and fail like any read) rather than answer from a
// mirror that may be stale.
func MirrorReads(on bool) registry.Option {
	return contextOption(mirrorReadsKey{}, on)
}

// MirrorIdle sets how long a mirrored service that no watcher follows stays
// in memory after its last GetService or ListServices. Default
// DefaultMirrorIdle (10 min); it must be positive.
func MirrorIdle(d time.Duration) registry.Option {
	return contextOption(mirrorIdleKey{}, d)
}

// ReadConcurrency sets how many reads the registry keeps in flight on its
// session when it reads many znodes at once. Default DefaultReadConcurrency
// (64); it must be between 1 and 1024.
func ReadConcurrency(n int) registry.Option {
	return contextOption(readConcurrencyKey{}, n)
}

func contextOption(key, value any) registry.Option {
	return func(o *registry.Options) {
		if o.Context == nil {
			o.Context = context.Background()
		}
		o.Context = context.WithValue(o.Context, key, value)
	}
}

func optionValue[T any](o *registry.Options, key any) (T, bool) {
	var zero T
	if o.Context == nil {
		return zero, false
	}
	v, ok := o.Context.Value(key).(T)
	return v, ok
}

type authCred struct {
	scheme     string
	credential []byte
}

// config is registry.Options resolved and validated once.
type config struct {
	servers         []string // host:port, in the order given
	chroot          string   // "" or a path like /apps/prod, from the address
	root            string   // chroot + prefix: the znode holding the services
	timeout         time.Duration
	sessionTimeout  time.Duration
	auth            []authCred
	nodeACL         []zk.ACL    // ephemeral node znodes
	dirACL          []zk.ACL    // service directories
	rootACL         []zk.ACL    // the root and the ancestors the registry creates
	tls             *tls.Config // registry.TLSConfig, or Secure(true) alone
	tlsEnv          tlsSettings // TLS from the environment, when tls is nil
	mirrorReads     bool
	mirrorIdle      time.Duration
	readConcurrency int
	logger          logger.Logger
}

// newConfig applies defaults to o and validates the result.
func newConfig(o registry.Options) (config, error) {
	c := config{
		timeout:         o.Timeout,
		sessionTimeout:  DefaultSessionTimeout,
		mirrorReads:     true,
		mirrorIdle:      DefaultMirrorIdle,
		readConcurrency: DefaultReadConcurrency,
		logger:          logger.LoggerOrDefault(o.Logger),
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.timeout < 0 {
		return c, fmt.Errorf("zookeeper: timeout %v is negative", c.timeout)
	}

	var err error
	if c.servers, c.chroot, err = parseAddrs(o.Addrs); err != nil {
		return c, err
	}

	prefix := DefaultPrefix
	if p, ok := optionValue[string](&o, prefixKey{}); ok {
		prefix = p
	}
	if err := validatePrefix(prefix); err != nil {
		return c, err
	}
	c.root = c.chroot + prefix

	d, ok := optionValue[time.Duration](&o, sessionTimeoutKey{})
	if env := os.Getenv(EnvSessionTimeout); !ok && env != "" {
		if d, err = time.ParseDuration(env); err != nil {
			return c, fmt.Errorf("zookeeper: %s=%q is not a duration such as 10s", EnvSessionTimeout, env)
		}
		ok = true
	}
	if ok {
		if d < time.Millisecond {
			return c, fmt.Errorf("zookeeper: session timeout %v is below 1ms", d)
		}
		c.sessionTimeout = d
	}
	if d, ok := optionValue[time.Duration](&o, mirrorIdleKey{}); ok {
		if d <= 0 {
			return c, fmt.Errorf("zookeeper: mirror idle time %v is not positive", d)
		}
		c.mirrorIdle = d
	}
	if on, ok := optionValue[bool](&o, mirrorReadsKey{}); ok {
		c.mirrorReads = on
	}
	if n, ok := optionValue[int](&o, readConcurrencyKey{}); ok {
		if n < 1 || n > 1024 {
			return c, fmt.Errorf("zookeeper: read concurrency %d is outside 1..1024", n)
		}
		c.readConcurrency = n
	}

	if creds, ok := optionValue[[]authCred](&o, authKey{}); ok {
		c.auth = creds
	} else if env := os.Getenv(EnvAuth); env != "" {
		if c.auth, err = parseAuthEnv(env); err != nil {
			return c, err
		}
	}
	for _, a := range c.auth {
		if a.scheme == "" || len(a.credential) == 0 {
			return c, errors.New("zookeeper: auth needs a scheme and a credential")
		}
	}

	c.nodeACL, c.dirACL, c.rootACL = defaultACLs(len(c.auth) > 0)
	if acl, ok := optionValue[[]zk.ACL](&o, aclKey{}); ok {
		if err := validateACL("ACL", acl, len(c.auth) > 0); err != nil {
			return c, err
		}
		c.nodeACL, c.dirACL, c.rootACL = acl, acl, acl
	}
	if acl, ok := optionValue[[]zk.ACL](&o, dirACLKey{}); ok {
		if err := validateACL("DirACL", acl, len(c.auth) > 0); err != nil {
			return c, err
		}
		c.dirACL, c.rootACL = acl, acl
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

// defaultACLs returns the ACLs of nodes, service directories and the root
// when neither ACL nor DirACL is given.
//
// With credentials: ZooKeeper checks CREATE and DELETE on the parent and
// WRITE and ADMIN on the znode, and has no "any authenticated client" id.
// So a node is creator-ALL plus world-READ: only its credentials change it
// or its ACL. A service directory is the same: only the credentials that
// created it (the service's first registration) add or delete its nodes,
// which keeps clients without them from deleting, replacing or adding nodes
// of a live service; the price is that these credentials may delete any node
// of the service, and other credentials cannot join it unless DirACL lets
// them. The root also grants world CREATE, so that any client can start a
// service of its own: without it, the first credentials to create the root
// would lock every other identity out. An operator who wants to stop that
// too creates the root with an ACL listing the identities allowed.
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

// validateACL checks what ZooKeeper would refuse with a less helpful
// InvalidACL on the first write.
func validateACL(option string, acl []zk.ACL, authenticated bool) error {
	if len(acl) == 0 {
		return fmt.Errorf("zookeeper: %s option with an empty list", option)
	}
	for _, a := range acl {
		switch {
		case a.Scheme == "":
			return fmt.Errorf("zookeeper: %s entry %+v has no scheme", option, a)
		case a.Perms&^zk.PermAll != 0:
			return fmt.Errorf("zookeeper: %s entry for %s has unknown permission bits %#x", option, a.Scheme, a.Perms)
		case a.Scheme == "auth" && !authenticated:
			return fmt.Errorf("zookeeper: %s entry with scheme \"auth\" (the creator's identity) needs credentials: see Auth and %s", option, EnvAuth)
		}
	}
	return nil
}

// identity describes, for error messages, whom ZooKeeper sees: the schemes
// and digest user names of the credentials, never a secret.
func (c config) identity() string {
	if len(c.auth) == 0 {
		return "this registry, which has no credentials (see Auth and " + EnvAuth + ")"
	}
	var ids []string
	digest := false
	for _, a := range c.auth {
		if a.scheme == "digest" {
			user, _, _ := strings.Cut(string(a.credential), ":")
			ids = append(ids, fmt.Sprintf("digest user %q", user))
			digest = true
		} else {
			ids = append(ids, "scheme "+a.scheme)
		}
	}
	s := "this registry's credentials (" + strings.Join(ids, ", ")
	if digest {
		// ZooKeeper accepts any digest password: a wrong one is just
		// another identity, refused where the right one would be allowed.
		s += "; ZooKeeper accepts any digest password, so a wrong password shows up as this refusal"
	}
	return s + ")"
}

// defaultTLS is the configuration of registry.Secure(true) without a
// TLSConfig: the system's CAs, certificates verified. It is never modified
// (the dialer clones it), and being one value it keeps sameSession true.
var defaultTLS = &tls.Config{MinVersion: tls.VersionTLS12}

// tlsSettings is TLS configured by the EnvTLS* environment variables.
type tlsSettings struct {
	on                bool
	caFile            string
	certFile, keyFile string
	serverName        string
}

// tlsFromEnv reads the EnvTLS* variables. It reads no file: they are loaded
// when a connection is made (tlsConfig).
func tlsFromEnv() (tlsSettings, error) {
	t := tlsSettings{
		caFile:     os.Getenv(EnvTLSCA),
		certFile:   os.Getenv(EnvTLSCert),
		keyFile:    os.Getenv(EnvTLSKey),
		serverName: os.Getenv(EnvTLSServerName),
	}
	implied := t.caFile != "" || t.certFile != "" || t.keyFile != "" || t.serverName != ""
	t.on = implied
	if v := os.Getenv(EnvTLS); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return t, fmt.Errorf("zookeeper: %s=%q is not a boolean", EnvTLS, v)
		}
		if !on && implied {
			return t, fmt.Errorf("zookeeper: %s=%s, but other %s_* variables are set", EnvTLS, v, EnvTLS)
		}
		t.on = on
	}
	if (t.certFile == "") != (t.keyFile == "") {
		return t, fmt.Errorf("zookeeper: %s and %s go together", EnvTLSCert, EnvTLSKey)
	}
	return t, nil
}

// tlsConfig returns the TLS configuration to dial with, nil for plaintext.
// Files named by the environment are read now.
func (c config) tlsConfig() (*tls.Config, error) {
	if c.tls != nil || !c.tlsEnv.on {
		return c.tls, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.tlsEnv.serverName}
	if f := c.tlsEnv.caFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("zookeeper: %s: %w", EnvTLSCA, err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("zookeeper: %s: no PEM certificate in %s", EnvTLSCA, f)
		}
	}
	if c.tlsEnv.certFile != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsEnv.certFile, c.tlsEnv.keyFile)
		if err != nil {
			// The error names the files, never their contents.
			return nil, fmt.Errorf("zookeeper: %s/%s: %w", EnvTLSCert, EnvTLSKey, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// parseAddrs normalises registry addresses to host:port and extracts the
// chroot that a ZooKeeper connect string may end with
// ("h1:2181,h2:2181/apps/prod"). go-micro splits --registry_address on
// commas, so the chroot arrives attached to the last address.
func parseAddrs(addrs []string) (servers []string, chroot string, err error) {
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if i := strings.IndexByte(a, '/'); i >= 0 {
			root := strings.TrimRight(a[i:], "/")
			if root != "" {
				if root != path.Clean(root) {
					return nil, "", fmt.Errorf("zookeeper: chroot %q in address %q is not a clean path", root, a)
				}
				if chroot != "" && chroot != root {
					return nil, "", fmt.Errorf("zookeeper: addresses name two chroots, %q and %q", chroot, root)
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
			return nil, "", fmt.Errorf("zookeeper: address %q has no valid host", a)
		}
		servers = append(servers, net.JoinHostPort(host, port))
	}
	if len(servers) == 0 {
		servers = []string{DefaultAddress}
	}
	return servers, chroot, nil
}

func validatePrefix(p string) error {
	if p == "" || p[0] != '/' || p == "/" || path.Clean(p) != p {
		return fmt.Errorf("zookeeper: prefix %q must be an absolute, clean path other than /", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if escapeSegment(seg) != seg {
			return fmt.Errorf("zookeeper: prefix %q has a segment ZooKeeper cannot store: %q", p, seg)
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
			return nil, fmt.Errorf("zookeeper: %s must be scheme:credential[,scheme:credential]", EnvAuth)
		}
		creds = append(creds, authCred{scheme: scheme, credential: []byte(cred)})
	}
	return creds, nil
}

// sameSession reports whether a and b produce the same ZooKeeper session:
// if not, Init must replace the connection.
func (c config) sameSession(d config) bool {
	return slices.Equal(c.servers, d.servers) && c.root == d.root &&
		c.sessionTimeout == d.sessionTimeout && c.tls == d.tls && c.tlsEnv == d.tlsEnv &&
		slices.EqualFunc(c.auth, d.auth, func(a, b authCred) bool {
			return a.scheme == b.scheme && string(a.credential) == string(b.credential)
		})
}
