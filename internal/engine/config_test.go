package engine

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// clearEnv unsets every variable the configuration reads, for t.
func clearEnv(t *testing.T) {
	for _, v := range []string{EnvAuth, EnvSessionTimeout, EnvOpenDirs, EnvTLS, EnvTLSCA, EnvTLSCert, EnvTLSKey, EnvTLSServerName} {
		t.Setenv(v, "")
	}
}

func settingsOf(opts ...Option) Options { return Options{Settings: opts} }

func TestConfigDefaults(t *testing.T) {
	clearEnv(t)
	c, err := NewConfig(Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:2181"}, c.servers)
	assert.Equal(t, "/micro-registry", c.layout.root)
	assert.Equal(t, 5*time.Second, c.timeout)
	assert.Equal(t, 10*time.Second, c.sessionTimeout)
	assert.True(t, c.mirrorReads)
	assert.Equal(t, 10*time.Minute, c.mirrorIdle)
	assert.Equal(t, 64, c.readConcurrency)
	assert.False(t, c.openDirs)
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
		{"empty list", []string{}, []string{"127.0.0.1:2181"}, "", ""},
		{"only blank entries", []string{"", " "}, nil, "", "holds no address"},
		{"one empty address", []string{""}, nil, "", "holds no address"},
		{"a blank entry among others", []string{"zk1:2181, ,zk2:2181", ""}, []string{"zk1:2181", "zk2:2181"}, "", ""},
		{"chroot alone", []string{"/apps"}, []string{"127.0.0.1:2181"}, "/apps", ""},
		{"host only", []string{"zk1"}, []string{"zk1:2181"}, "", ""},
		{"host port", []string{"zk1:2182", " zk2:2183 "}, []string{"zk1:2182", "zk2:2183"}, "", ""},
		{"one comma-separated entry", []string{"zk1:2182,zk2:2183/apps"}, []string{"zk1:2182", "zk2:2183"}, "/apps", ""},
		{"ipv6", []string{"[::1]:2181", "[::1]"}, []string{"[::1]:2181", "[::1]:2181"}, "", ""},
		{"chroot on last", []string{"zk1:2181", "zk2:2181/apps/prod"}, []string{"zk1:2181", "zk2:2181"}, "/apps/prod", ""},
		{"chroot trailing slash", []string{"zk1:2181/apps/"}, []string{"zk1:2181"}, "/apps", ""},
		{"same chroot twice", []string{"a:1/x", "b:2/x"}, []string{"a:1", "b:2"}, "/x", ""},
		{"two chroots", []string{"a:1/x", "b:2/y"}, nil, "", "two chroots"},
		{"unclean chroot", []string{"a:1/x//y"}, nil, "", "not a clean path"},
		{"bad host", []string{":2181"}, nil, "", "no valid host"},
		{"bad port", []string{"zk1:http"}, nil, "", "no valid port"},
		{"port out of range", []string{"zk1:70000"}, nil, "", "no valid port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			servers, chroot, err := parseAddrs(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.servers, servers)
			assert.Equal(t, tt.chroot, chroot)
		})
	}
}

func TestConfigOptions(t *testing.T) {
	clearEnv(t)
	cfg := &tls.Config{ServerName: "zk"}
	c, err := NewConfig(Options{
		Addrs: []string{"zk1:2181/apps"}, Timeout: time.Second, TLSConfig: cfg,
		Settings: []Option{
			SessionTimeout(3 * time.Second), Prefix("/svc"), MirrorReads(false), MirrorIdle(time.Minute), ReadConcurrency(8),
			Auth("digest", []byte("u:p")), Auth("digest", []byte("v:q")), OpenDirs(true),
		},
	})
	require.NoError(t, err)
	assert.Equal(t, "/apps/svc", c.Root())
	assert.Equal(t, "/apps", c.Chroot())
	assert.Equal(t, time.Second, c.timeout)
	assert.Equal(t, 3*time.Second, c.sessionTimeout)
	assert.False(t, c.mirrorReads)
	assert.Equal(t, time.Minute, c.mirrorIdle)
	assert.Equal(t, 8, c.readConcurrency)
	assert.True(t, c.openDirs)
	assert.Same(t, cfg, c.tls)
	require.Len(t, c.auth, 2)
	assert.Equal(t, "v:q", string(c.auth[1].credential))
	assert.Equal(t, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth"}, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}, c.nodeACL)

	secure, err := NewConfig(Options{Secure: true})
	require.NoError(t, err)
	require.NotNil(t, secure.tls, "Secure alone dials TLS with default verification")
	assert.False(t, secure.tls.InsecureSkipVerify)
}

func TestConfigRejects(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"negative timeout", Options{Timeout: -time.Second}, "negative"},
		{"tiny session", settingsOf(SessionTimeout(time.Microsecond)), "below 1ms"},
		{"relative prefix", settingsOf(Prefix("micro")), "absolute"},
		{"root prefix", settingsOf(Prefix("/")), "other than /"},
		{"unclean prefix", settingsOf(Prefix("/a/../b")), "clean"},
		{"prefix with bad char", settingsOf(Prefix("/a\x01")), "cannot store"},
		{"zero idle", settingsOf(MirrorIdle(0)), "not positive"},
		{"zero concurrency", settingsOf(ReadConcurrency(0)), "outside"},
		{"empty auth", settingsOf(Auth("digest", nil)), "scheme and a credential"},
		{"digest without user", settingsOf(Auth("digest", []byte("hunter2-S3CRET"))), `"user:password"`},
		{"digest with empty user", settingsOf(Auth("digest", []byte(":hunter2-S3CRET"))), `"user:password"`},
		{"empty acl", settingsOf(ACL()), "empty list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewConfig(tt.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			assert.NotContains(t, err.Error(), "S3CRET", "a secret is never echoed")
		})
	}
}

func TestAuthFromEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv(EnvAuth, "digest:svc:s3cret, digest:other:pw")
	c, err := NewConfig(Options{})
	require.NoError(t, err)
	require.Len(t, c.auth, 2)
	assert.Equal(t, "digest", c.auth[0].scheme)
	assert.Equal(t, "svc:s3cret", string(c.auth[0].credential))

	// An Auth option wins over the environment.
	c, err = NewConfig(settingsOf(Auth("digest", []byte("code:pw"))))
	require.NoError(t, err)
	require.Len(t, c.auth, 1)

	for _, bad := range []string{"nocolon", "digest:password-S3CRET", "digest::password-S3CRET"} {
		t.Setenv(EnvAuth, bad)
		_, err = NewConfig(Options{})
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "nocolon", "credentials are never echoed")
		assert.NotContains(t, err.Error(), "S3CRET", "credentials are never echoed")
	}
}

func TestSessionTimeoutFromEnvironment(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name string
		env  string
		opts []Option
		want time.Duration
		err  string
	}{
		{"unset", "", nil, DefaultSessionTimeout, ""},
		{"set", "4s", nil, 4 * time.Second, ""},
		{"option wins", "4s", []Option{SessionTimeout(7 * time.Second)}, 7 * time.Second, ""},
		{"not a duration", "4", nil, 0, "is not a duration"},
		{"too small", "1us", nil, 0, "below 1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvSessionTimeout, tt.env)
			c, err := NewConfig(settingsOf(tt.opts...))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.sessionTimeout)
		})
	}
}

func TestOpenDirsFromEnvironment(t *testing.T) {
	clearEnv(t)
	for _, tt := range []struct {
		env  string
		opts []Option
		want bool
		err  string
	}{
		{"", nil, false, ""},
		{"true", nil, true, ""},
		{"true", []Option{OpenDirs(false)}, false, ""},
		{"maybe", nil, false, "not a boolean"},
	} {
		t.Setenv(EnvOpenDirs, tt.env)
		c, err := NewConfig(settingsOf(tt.opts...))
		if tt.err != "" {
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, c.openDirs, "env %q", tt.env)
	}
}

func TestACLConfig(t *testing.T) {
	clearEnv(t)
	creator := zk.ACL{Perms: zk.PermAll, Scheme: "auth"}
	worldRead := zk.ACL{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}
	worldReadCreate := zk.ACL{Perms: zk.PermRead | zk.PermCreate, Scheme: "world", ID: "anyone"}
	custom := zk.DigestACL(zk.PermAll, "ops", "pw")
	dirs := append(zk.DigestACL(zk.PermRead|zk.PermCreate, "other", "pw"), creator)
	tests := []struct {
		name            string
		opts            []Option
		node, dir, root []zk.ACL
	}{
		{"no credentials: open", nil,
			zk.WorldACL(zk.PermAll), zk.WorldACL(zk.PermAll), zk.WorldACL(zk.PermAll)},
		{"credentials: creator all, world read; the prefix lets anyone add a service",
			[]Option{Auth("digest", []byte("u:p"))},
			[]zk.ACL{creator, worldRead}, []zk.ACL{creator, worldRead}, []zk.ACL{creator, worldReadCreate}},
		{"ACL sets every znode", []Option{Auth("digest", []byte("u:p")), ACL(custom...)},
			custom, custom, custom},
		{"DirACL sets the directories", []Option{Auth("digest", []byte("u:p")), DirACL(dirs...)},
			[]zk.ACL{creator, worldRead}, dirs, dirs},
		{"DirACL over ACL", []Option{Auth("digest", []byte("u:p")), ACL(custom...), DirACL(dirs...)},
			custom, dirs, dirs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewConfig(settingsOf(tt.opts...))
			require.NoError(t, err)
			assert.Equal(t, tt.node, c.nodeACL, "nodes")
			assert.Equal(t, tt.dir, c.dirACL, "service directories")
			assert.Equal(t, tt.root, c.rootACL, "prefix")
		})
	}
}

func TestACLConfigRejects(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"auth ACL without credentials", []Option{ACL(zk.ACL{Perms: zk.PermAll, Scheme: "auth"})}, `scheme "auth"`},
		{"auth DirACL without credentials", []Option{DirACL(zk.ACL{Perms: zk.PermAll, Scheme: "auth"})}, `scheme "auth"`},
		{"empty DirACL", []Option{DirACL()}, "DirACL option with an empty list"},
		{"no scheme", []Option{ACL(zk.ACL{Perms: zk.PermRead})}, "no scheme"},
		{"unknown permission", []Option{ACL(zk.ACL{Perms: 64, Scheme: "world", ID: "anyone"})}, "permission bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewConfig(settingsOf(tt.opts...))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestIdentityNamesUsersNotSecrets(t *testing.T) {
	clearEnv(t)
	c, err := NewConfig(settingsOf(Auth("digest", []byte("alice:s3cret-pw")), Auth("ip", []byte("10.0.0.1"))))
	require.NoError(t, err)
	id := c.identity()
	assert.Contains(t, id, `digest user "alice"`)
	assert.Contains(t, id, `scheme "ip"`)
	assert.Contains(t, id, "wrong password")
	assert.NotContains(t, id, "s3cret-pw")
	assert.NotContains(t, id, "10.0.0.1")

	c, err = NewConfig(Options{})
	require.NoError(t, err)
	assert.Contains(t, c.identity(), "no credentials")
}

func TestTLSConfigFromEnvironment(t *testing.T) {
	pki := zktest.NewPKI(t, "env")
	t.Run("off by default", func(t *testing.T) {
		clearEnv(t)
		c, err := NewConfig(Options{})
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		assert.Nil(t, tc)
	})
	t.Run("TLS=1 verifies with the system's CAs", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvTLS, "1")
		c, err := NewConfig(Options{})
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		require.NotNil(t, tc)
		assert.Nil(t, tc.RootCAs)
		assert.False(t, tc.InsecureSkipVerify)
	})
	t.Run("files turn TLS on and are loaded at dial", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvTLSCA, pki.CAFile)
		t.Setenv(EnvTLSCert, pki.ClientCertFile)
		t.Setenv(EnvTLSKey, pki.ClientKeyFile)
		t.Setenv(EnvTLSServerName, "zk.internal")
		c, err := NewConfig(Options{})
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		require.NotNil(t, tc)
		assert.True(t, tc.RootCAs.Equal(pki.Pool))
		assert.Len(t, tc.Certificates, 1)
		assert.Equal(t, "zk.internal", tc.ServerName)
		assert.False(t, tc.InsecureSkipVerify)

		same, err := NewConfig(Options{})
		require.NoError(t, err)
		assert.True(t, c.sameSession(same), "the same environment keeps the session")
	})
	t.Run("Secure uses the environment's CA", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvTLSCA, pki.CAFile)
		c, err := NewConfig(Options{Secure: true})
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		assert.True(t, tc.RootCAs.Equal(pki.Pool))
	})
	t.Run("a TLSConfig option wins", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvTLSCA, filepath.Join(t.TempDir(), "missing.pem"))
		own := &tls.Config{ServerName: "mine"}
		c, err := NewConfig(Options{TLSConfig: own})
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		assert.Same(t, own, tc)
	})
	t.Run("Secure alone keeps its session across Init", func(t *testing.T) {
		clearEnv(t)
		a, err := NewConfig(Options{Secure: true})
		require.NoError(t, err)
		b, err := NewConfig(Options{Secure: true})
		require.NoError(t, err)
		assert.True(t, a.sameSession(b))
	})

	bad := []struct {
		name string
		env  map[string]string
		want string // in NewConfig's or tlsConfig's error
	}{
		{"not a boolean", map[string]string{EnvTLS: "yes please"}, "not a boolean"},
		{"off but configured", map[string]string{EnvTLS: "false", EnvTLSCA: pki.CAFile}, "other " + EnvTLS + "_* variables"},
		{"cert without key", map[string]string{EnvTLSCert: pki.ClientCertFile}, "go together"},
		{"missing CA file", map[string]string{EnvTLSCA: "/nonexistent/ca.pem"}, EnvTLSCA + ": open /nonexistent/ca.pem"},
		{"CA file without certificates", map[string]string{EnvTLSCA: pki.ClientKeyFile}, "no PEM certificate in " + pki.ClientKeyFile},
		{"key does not match", map[string]string{EnvTLSCert: pki.ClientCertFile, EnvTLSKey: pki.ServerKeyFile}, EnvTLSCert},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := NewConfig(Options{})
			if err == nil {
				_, err = c.tlsConfig()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "PRIVATE KEY", "key material is never echoed")
		})
	}
}

func TestSameSession(t *testing.T) {
	clearEnv(t)
	base := Options{Addrs: []string{"zk1:2181"}, Settings: []Option{Auth("digest", []byte("u:p"))}}
	a, err := NewConfig(base)
	require.NoError(t, err)
	for _, tt := range []struct {
		name string
		o    Options
		same bool
	}{
		{"identical", base, true},
		{"other timeout", Options{Addrs: base.Addrs, Timeout: time.Second, Settings: base.Settings}, true},
		{"mirror settings", Options{Addrs: base.Addrs, Settings: append(base.Settings, MirrorIdle(time.Second))}, true},
		{"other server", Options{Addrs: []string{"zk2:2181"}, Settings: base.Settings}, false},
		{"chroot", Options{Addrs: []string{"zk1:2181/x"}, Settings: base.Settings}, false},
		{"prefix", Options{Addrs: base.Addrs, Settings: append(base.Settings, Prefix("/p"))}, false},
		{"session timeout", Options{Addrs: base.Addrs, Settings: append(base.Settings, SessionTimeout(time.Second))}, false},
		{"credentials", Options{Addrs: base.Addrs, Settings: []Option{Auth("digest", []byte("u:q"))}}, false},
		{"TLS", Options{Addrs: base.Addrs, Secure: true, Settings: base.Settings}, false},
	} {
		b, err := NewConfig(tt.o)
		require.NoError(t, err)
		assert.Equal(t, tt.same, a.sameSession(b), tt.name)
	}
}
