package zookeeper

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
)

func TestConfigDefaults(t *testing.T) {
	t.Setenv(EnvAuth, "")
	c, err := newConfig(*registry.NewOptions())
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:2181"}, c.servers)
	assert.Equal(t, "/micro-registry", c.root)
	assert.Equal(t, 5*time.Second, c.timeout)
	assert.Equal(t, 10*time.Second, c.sessionTimeout)
	assert.True(t, c.mirrorReads)
	assert.Equal(t, 10*time.Minute, c.mirrorIdle)
	assert.Equal(t, 64, c.readConcurrency)
	assert.Equal(t, zk.WorldACL(zk.PermAll), c.nodeACL)
	assert.Nil(t, c.tls)
	assert.NotNil(t, c.logger)
}

func TestParseAddrs(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		servers []string
		chroot  string
		err     string
	}{
		{"empty", nil, []string{"127.0.0.1:2181"}, "", ""},
		{"blank entries", []string{"", " "}, []string{"127.0.0.1:2181"}, "", ""},
		{"host only", []string{"zk1"}, []string{"zk1:2181"}, "", ""},
		{"host port", []string{"zk1:2182", " zk2:2183 "}, []string{"zk1:2182", "zk2:2183"}, "", ""},
		{"ipv6", []string{"[::1]:2181", "[::1]"}, []string{"[::1]:2181", "[::1]:2181"}, "", ""},
		{"chroot on last", []string{"zk1:2181", "zk2:2181/apps/prod"}, []string{"zk1:2181", "zk2:2181"}, "/apps/prod", ""},
		{"chroot trailing slash", []string{"zk1:2181/apps/"}, []string{"zk1:2181"}, "/apps", ""},
		{"same chroot twice", []string{"a:1/x", "b:2/x"}, []string{"a:1", "b:2"}, "/x", ""},
		{"two chroots", []string{"a:1/x", "b:2/y"}, nil, "", "two chroots"},
		{"unclean chroot", []string{"a:1/x//y"}, nil, "", "not a clean path"},
		{"bad host", []string{":2181"}, nil, "", "no valid host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			servers, chroot, err := parseAddrs(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Contains(t, err.Error(), "zookeeper: ")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.servers, servers)
			assert.Equal(t, tt.chroot, chroot)
		})
	}
}

func TestConfigOptions(t *testing.T) {
	t.Setenv(EnvAuth, "")
	cfg := &tls.Config{ServerName: "zk"}
	c, err := newConfig(*registry.NewOptions(
		registry.Addrs("zk1:2181/apps"), registry.Timeout(time.Second), registry.TLSConfig(cfg),
		SessionTimeout(3*time.Second), Prefix("/svc"), MirrorReads(false), MirrorIdle(time.Minute), ReadConcurrency(8),
		Auth("digest", []byte("u:p")), Auth("digest", []byte("v:q")),
	))
	require.NoError(t, err)
	assert.Equal(t, "/apps/svc", c.root)
	assert.Equal(t, time.Second, c.timeout)
	assert.Equal(t, 3*time.Second, c.sessionTimeout)
	assert.False(t, c.mirrorReads)
	assert.Equal(t, time.Minute, c.mirrorIdle)
	assert.Equal(t, 8, c.readConcurrency)
	assert.Same(t, cfg, c.tls)
	require.Len(t, c.auth, 2)
	assert.Equal(t, "v:q", string(c.auth[1].credential))
	assert.Equal(t, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth"}, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}, c.nodeACL)

	secure, err := newConfig(*registry.NewOptions(registry.Secure(true)))
	require.NoError(t, err)
	require.NotNil(t, secure.tls, "Secure(true) alone dials TLS with default verification")
	assert.False(t, secure.tls.InsecureSkipVerify)
}

func TestConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		opt  registry.Option
		want string
	}{
		{"negative timeout", registry.Timeout(-time.Second), "negative"},
		{"tiny session", SessionTimeout(time.Microsecond), "below 1ms"},
		{"relative prefix", Prefix("micro"), "absolute"},
		{"root prefix", Prefix("/"), "other than /"},
		{"unclean prefix", Prefix("/a/../b"), "clean"},
		{"prefix with bad char", Prefix("/a\x01"), "cannot store"},
		{"zero idle", MirrorIdle(0), "not positive"},
		{"zero concurrency", ReadConcurrency(0), "outside"},
		{"empty auth", Auth("digest", nil), "scheme and a credential"},
		{"empty acl", ACL(), "empty list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newConfig(*registry.NewOptions(tt.opt))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "zookeeper: ")
		})
	}
}

func TestAuthFromEnvironment(t *testing.T) {
	t.Setenv(EnvAuth, "digest:svc:s3cret, digest:other:pw")
	c, err := newConfig(*registry.NewOptions())
	require.NoError(t, err)
	require.Len(t, c.auth, 2)
	assert.Equal(t, "digest", c.auth[0].scheme)
	assert.Equal(t, "svc:s3cret", string(c.auth[0].credential))

	// An Auth option wins over the environment.
	c, err = newConfig(*registry.NewOptions(Auth("digest", []byte("code:pw"))))
	require.NoError(t, err)
	require.Len(t, c.auth, 1)

	t.Setenv(EnvAuth, "nocolon")
	_, err = newConfig(*registry.NewOptions())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "nocolon", "credentials are never echoed")
}

func TestSessionTimeoutFromEnvironment(t *testing.T) {
	t.Setenv(EnvAuth, "")
	tests := []struct {
		name string
		env  string
		opts []registry.Option
		want time.Duration
		err  string
	}{
		{"unset", "", nil, DefaultSessionTimeout, ""},
		{"set", "4s", nil, 4 * time.Second, ""},
		{"option wins", "4s", []registry.Option{SessionTimeout(7 * time.Second)}, 7 * time.Second, ""},
		{"not a duration", "4", nil, 0, "is not a duration"},
		{"too small", "1us", nil, 0, "below 1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvSessionTimeout, tt.env)
			c, err := newConfig(*registry.NewOptions(tt.opts...))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "zookeeper: ")
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.sessionTimeout)
		})
	}
}

func TestInvalidOptionsAreReportedNotPanicked(t *testing.T) {
	r := NewRegistry(registry.Timeout(-1))
	require.NotNil(t, r)
	defer r.(*zkRegistry).Close()
	err := r.Register(svc("s", "1", "n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "negative")
	// Init with valid options repairs it.
	require.NoError(t, r.Init(registry.Timeout(time.Second), registry.Addrs("127.0.0.1:1")))
}
