package zookeeper

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
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
