package zookeeper

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/microlog"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Each of the face's options must reach the engine as the engine's own
// option does: the two configurations are equal. (The engine's tests check
// what each option means.)
func TestOptionsReachTheEngine(t *testing.T) {
	for _, v := range []string{EnvAuth, EnvSessionTimeout, EnvOpenDirs, EnvTLS, EnvTLSCA, EnvTLSCert, EnvTLSKey, EnvTLSServerName} {
		t.Setenv(v, "")
	}
	acl := zk.DigestACL(zk.PermAll, "ops", "pw")
	cfg := &tls.Config{ServerName: "zk"}
	tests := []struct {
		name string
		face []registry.Option
		want engine.Options
	}{
		{"defaults", nil, engine.Options{}},
		{"registry options", []registry.Option{registry.Addrs("zk1:2181", "zk2/apps"), registry.Timeout(time.Second), registry.TLSConfig(cfg)},
			engine.Options{Addrs: []string{"zk1:2181", "zk2/apps"}, Timeout: time.Second, TLSConfig: cfg}},
		{"Secure", []registry.Option{registry.Secure(true)}, engine.Options{Secure: true}},
		{"SessionTimeout", []registry.Option{SessionTimeout(3 * time.Second)}, engine.Options{Settings: []engine.Option{engine.SessionTimeout(3 * time.Second)}}},
		{"Prefix", []registry.Option{Prefix("/svc")}, engine.Options{Settings: []engine.Option{engine.Prefix("/svc")}}},
		{"Auth twice", []registry.Option{Auth("digest", []byte("u:p")), Auth("digest", []byte("v:q"))},
			engine.Options{Settings: []engine.Option{engine.Auth("digest", []byte("u:p")), engine.Auth("digest", []byte("v:q"))}}},
		{"ACL", []registry.Option{Auth("digest", []byte("u:p")), ACL(acl...)},
			engine.Options{Settings: []engine.Option{engine.Auth("digest", []byte("u:p")), engine.ACL(acl...)}}},
		{"DirACL", []registry.Option{DirACL(acl...)}, engine.Options{Settings: []engine.Option{engine.DirACL(acl...)}}},
		{"MirrorReads", []registry.Option{MirrorReads(false)}, engine.Options{Settings: []engine.Option{engine.MirrorReads(false)}}},
		{"MirrorIdle", []registry.Option{MirrorIdle(time.Minute)}, engine.Options{Settings: []engine.Option{engine.MirrorIdle(time.Minute)}}},
		{"ReadConcurrency", []registry.Option{ReadConcurrency(8)}, engine.Options{Settings: []engine.Option{engine.ReadConcurrency(8)}}},
		{"OpenDirs", []registry.Option{OpenDirs(true)}, engine.Options{Settings: []engine.Option{engine.OpenDirs(true)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eo := engineOptions(*registry.NewOptions(tt.face...))
			got, err := engine.NewConfig(eo)
			require.NoError(t, err)
			tt.want.Logger = eo.Logger
			want, err := engine.NewConfig(tt.want)
			require.NoError(t, err)
			assert.Equal(t, want, got)
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
	_, err = r.GetService("s")
	assert.ErrorContains(t, err, "negative", "every call reports it")
	// Init with valid options repairs it.
	require.NoError(t, r.Init(registry.Timeout(time.Second), registry.Addrs("127.0.0.1:1")))
	assert.Equal(t, time.Second, r.Options().Timeout)
}

func TestInitWithInvalidOptionsChangesNothing(t *testing.T) {
	r := NewRegistry(registry.Addrs("127.0.0.1:1"), registry.Timeout(time.Second))
	defer r.(*zkRegistry).Close()
	err := r.Init(Prefix("relative"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "absolute")
	assert.Equal(t, time.Second, r.Options().Timeout)
	cfg, err := r.(*zkRegistry).engine.Config()
	require.NoError(t, err, "the registry keeps its valid configuration")
	assert.Equal(t, DefaultPrefix, cfg.Root())
	assert.Equal(t, []string{"127.0.0.1:1"}, cfg.Servers())
}

// recordingLogger is a go-micro logger that keeps the levels it was
// given.
type recordingLogger struct {
	logger.Logger
	mu     sync.Mutex // guards levels
	levels []logger.Level
}

func (l *recordingLogger) Logf(level logger.Level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.levels = append(l.levels, level)
}

// The engine's log lines reach registry.Logger at go-micro's levels.
func TestEngineLogsThroughRegistryLogger(t *testing.T) {
	rec := &recordingLogger{Logger: logger.DefaultLogger}
	eo := engineOptions(*registry.NewOptions(registry.Logger(rec)))
	for _, lv := range []engine.Level{engine.LevelDebug, engine.LevelInfo, engine.LevelWarn, engine.LevelError} {
		eo.Logger.Logf(lv, "line at %s", lv)
	}
	assert.Equal(t, []logger.Level{logger.DebugLevel, logger.InfoLevel, logger.WarnLevel, logger.ErrorLevel}, rec.levels)
	// Without registry.Logger, go-micro's default logger.
	eo = engineOptions(registry.Options{})
	assert.Equal(t, microlog.New(nil), eo.Logger)
}

// The face re-exports the engine's names: one set of defaults and
// environment variables, whichever go-micro a service uses.
func TestEnvironmentAndDefaultsAreTheEngines(t *testing.T) {
	assert.Equal(t, "MICRO_REGISTRY_ZOOKEEPER_AUTH", EnvAuth)
	assert.Equal(t, "MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT", EnvSessionTimeout)
	assert.Equal(t, engine.EnvOpenDirs, EnvOpenDirs)
	assert.Equal(t, engine.EnvTLSCA, EnvTLSCA)
	assert.Equal(t, "/micro-registry", DefaultPrefix)
	assert.Equal(t, 10*time.Second, DefaultSessionTimeout)
}

// Credentials, ACLs and TLS given to the face reach ZooKeeper.
func TestSecurityOptionsAgainstZooKeeper(t *testing.T) {
	t.Parallel()
	srv, secureAddr, pki := zktest.StartTLS(t)
	raw := rawConn(t, srv.Addr) // a plaintext observer on the same server

	t.Run("AuthAndACL", func(t *testing.T) {
		r := newTestRegistry(t, []string{srv.Addr}, Auth("digest", []byte("alice:alice-pw")), Prefix("/secured"))
		require.NoError(t, r.Register(svc("orders", "1", "o1")))
		acl, _, err := raw.GetACL("/secured/orders/o1")
		require.NoError(t, err)
		require.Len(t, acl, 2, "the creator's identity and read for everyone: %v", acl)
		assert.ErrorIs(t, raw.Delete("/secured/orders/o1", -1), zk.ErrNoAuth, "others may not delete it")

		open := newTestRegistry(t, []string{srv.Addr}, Auth("digest", []byte("bob:bob-pw")), Prefix("/open"), ACL(zk.WorldACL(zk.PermAll)...))
		require.NoError(t, open.Register(svc("orders", "1", "o1")))
		acl, _, err = raw.GetACL("/open/orders/o1")
		require.NoError(t, err)
		assert.Equal(t, zk.WorldACL(zk.PermAll), acl, "the ACL option")
	})
	t.Run("TLSConfig", func(t *testing.T) {
		r := newTestRegistry(t, []string{secureAddr}, registry.TLSConfig(pki.ClientTLS()))
		require.NoError(t, r.Register(svc("tls-greeter", "1", "t1")))
		_, st, err := raw.Get("/micro-registry/tls-greeter/t1")
		require.NoError(t, err)
		assert.Equal(t, r.sessionID(t), st.EphemeralOwner)
		s, err := r.engine.Session(context.Background())
		require.NoError(t, err)
		assert.Equal(t, secureAddr, s.Server())
	})
	t.Run("SecureWithoutTheCA", func(t *testing.T) {
		// registry.Secure trusts the system's CAs, which do not know the
		// test CA: the handshake fails, and the error says why.
		r := newTestRegistry(t, []string{secureAddr}, registry.Secure(true), registry.Timeout(time.Second))
		err := r.Register(svc("s", "1", "n1"))
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
		assert.Contains(t, err.Error(), "x509")
	})
}
