package zkconfig

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// aliveConnections returns the server's count of client connections
// (mntr's zk_num_alive_connections).
func aliveConnections(t *testing.T, addr string) int {
	t.Helper()
	out, err := zktest.FourLetter(addr, "mntr")
	require.NoError(t, err)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "zk_num_alive_connections\t"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("mntr has no zk_num_alive_connections: %q", out)
	return 0
}

func TestWithRegistrySharesTheRegistrysSession(t *testing.T) {
	srv := zktest.Start(t)
	raw := rawZK(t, srv.Addr)
	put(t, raw, "/micro-config/greeter/greeting", "Hello")
	before := aliveConnections(t, srv.Addr)

	reg := zookeeper.NewRegistry(registry.Addrs(srv.Addr), registry.Timeout(10*time.Second))
	t.Cleanup(func() { _ = reg.(io.Closer).Close() })
	svc := &registry.Service{Name: "greeter", Version: "1", Nodes: []*registry.Node{{Id: "g1", Address: "127.0.0.1:1"}}}
	require.NoError(t, reg.Register(svc))
	src := newSource(t, WithRegistry(reg), WithPrefix("/micro-config/greeter"))
	assert.JSONEq(t, `{"greeting":"Hello"}`, read(t, src))
	assert.Equal(t, before+1, aliveConnections(t, srv.Addr), "a registry and its config source hold one connection")

	// A push reaches the source over the registry's session.
	w := watch(t, src)
	put(t, raw, "/micro-config/greeter/greeting", "Hi")
	assert.JSONEq(t, `{"greeting":"Hi"}`, nextData(t, w))
	require.NoError(t, SetKey(src, []byte(`"Hey"`), "greeting"))
	assert.JSONEq(t, `{"greeting":"Hey"}`, read(t, src))
	assert.Equal(t, before+1, aliveConnections(t, srv.Addr))

	// Closing the source leaves the registry and its node alone.
	require.NoError(t, src.(io.Closer).Close())
	_, err := src.Read()
	require.ErrorIs(t, err, errClosed)
	got, err := reg.GetService("greeter")
	require.NoError(t, err)
	require.Len(t, got, 1)
	_, stat, err := raw.Get("/micro-registry/greeter/g1")
	require.NoError(t, err)
	assert.NotZero(t, stat.EphemeralOwner)

	// Closing the registry ends a source that shares it, saying so.
	other := newSource(t, WithRegistry(reg), WithPrefix("/micro-config/greeter"))
	w = watch(t, other)
	require.NoError(t, reg.(io.Closer).Close())
	_, err = other.Read()
	require.ErrorIs(t, err, errRegistryClosed)
	assert.Contains(t, err.Error(), "the registry whose session it shares is closed")
	_, err = w.Next()
	require.Error(t, err)
}

func TestWithRegistryRefusesWhatItCannotShare(t *testing.T) {
	reg := zookeeper.NewRegistry()
	t.Cleanup(func() { _ = reg.(io.Closer).Close() })
	for name, tt := range map[string]struct {
		opts []source.Option
		want string
	}{
		"own address":    {[]source.Option{WithRegistry(reg), WithAddress("127.0.0.1:1")}, "WithAddress cannot be combined"},
		"own auth":       {[]source.Option{Auth("digest", []byte("u:p")), WithRegistry(reg)}, "Auth cannot be combined"},
		"not ours":       {[]source.Option{WithRegistry(otherRegistry{})}, "WithRegistry needs a registry this module's NewRegistry returned"},
		"nil registry":   {[]source.Option{WithRegistry(nil)}, "WithRegistry needs a registry"},
		"two of them":    {[]source.Option{WithRegistry(reg), SessionTimeout(time.Second), TLSConfig(nil)}, "SessionTimeout, TLSConfig cannot be combined"},
		"bad timeout":    {[]source.Option{WithRegistry(reg), Timeout(-time.Second)}, "timeout -1s is negative"},
		"private noauth": {[]source.Option{WithRegistry(reg), Private()}, "Private needs credentials"},
	} {
		t.Run(name, func(t *testing.T) {
			src := newSource(t, tt.opts...)
			_, err := src.Read()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			require.Error(t, src.Write(nil))
			_, err = src.Watch()
			require.Error(t, err)
		})
	}
}

// otherRegistry is a go-micro registry that is not this module's.
type otherRegistry struct{ registry.Registry }
