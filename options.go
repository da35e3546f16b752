package zookeeper

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"slices"
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

type (
	sessionTimeoutKey  struct{}
	prefixKey          struct{}
	authKey            struct{}
	aclKey             struct{}
	mirrorReadsKey     struct{}
	mirrorIdleKey      struct{}
	readConcurrencyKey struct{}
)

// SessionTimeout sets the ZooKeeper session timeout: how long the server
// keeps this registry's session, and with it its ephemeral nodes, after it
// last heard from the client. A crashed process's nodes disappear after about
// this long. Default DefaultSessionTimeout (10 s); it must be at least 1 ms and
// the server clamps it to its bounds.
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
// environment variable. With credentials set, znodes the registry creates are
// readable by anyone and writable only by the same credentials, unless ACL
// says otherwise.
func Auth(scheme string, credential []byte) registry.Option {
	return func(o *registry.Options) {
		prev, _ := optionValue[[]authCred](o, authKey{})
		creds := append(slices.Clone(prev), authCred{scheme: scheme, credential: slices.Clone(credential)})
		contextOption(authKey{}, creds)(o)
	}
}

// ACL sets the access control list of every znode the registry creates.
// Default: zk.WorldACL(zk.PermAll) without credentials; with credentials,
// all permissions for the creator's identity and read for everyone.
func ACL(acl ...zk.ACL) registry.Option {
	return contextOption(aclKey{}, slices.Clone(acl))
}

// MirrorReads chooses whether GetService and ListServices answer from the
// registry's watch-fed mirror of ZooKeeper when it is in sync. Default true.
// With false, every call reads ZooKeeper (watchers still use the mirror).
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
	nodeACL         []zk.ACL // ephemeral node znodes
	dirACL          []zk.ACL // prefix and service directories
	tls             *tls.Config
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

	if d, ok := optionValue[time.Duration](&o, sessionTimeoutKey{}); ok {
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

	c.nodeACL = zk.WorldACL(zk.PermAll)
	if len(c.auth) > 0 {
		c.nodeACL = []zk.ACL{
			{Perms: zk.PermAll, Scheme: "auth", ID: ""},
			{Perms: zk.PermRead, Scheme: "world", ID: "anyone"},
		}
	}
	c.dirACL = c.nodeACL
	if acl, ok := optionValue[[]zk.ACL](&o, aclKey{}); ok {
		if len(acl) == 0 {
			return c, errors.New("zookeeper: ACL option with an empty list")
		}
		c.nodeACL, c.dirACL = acl, acl
	}

	if o.Secure || o.TLSConfig != nil {
		c.tls = o.TLSConfig
		if c.tls == nil {
			c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	return c, nil
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
		c.sessionTimeout == d.sessionTimeout && c.tls == d.tls &&
		slices.EqualFunc(c.auth, d.auth, func(a, b authCred) bool {
			return a.scheme == b.scheme && string(a.credential) == string(b.credential)
		})
}
