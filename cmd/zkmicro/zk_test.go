package main

import (
	"encoding/json"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Helpers of the tests against real ZooKeeper.

// zkTimeout is the registry timeout of the tests' own registries and
// connections: generous, for a busy machine.
const zkTimeout = 10 * time.Second

// registryArgs is the global options for the servers addrs: the address,
// and the registry timeout of the tests (zkTimeout) rather than the
// command's default (5 s), for a busy machine. A later --registry_timeout
// overrides it.
func registryArgs(addrs ...string) []string {
	return []string{"--registry_address", strings.Join(addrs, ","), "--registry_timeout", zkTimeout.String()}
}

// zkArgs is the global options for addr followed by rest.
func zkArgs(addr string, rest ...string) []string {
	return append(registryArgs(addr), rest...)
}

// newZKRegistry is a registry of the test's own on the servers addrs
// (which may end with a chroot), closed at the end of the test.
func newZKRegistry(t *testing.T, addrs ...string) registry.Registry {
	t.Helper()
	reg := zookeeper.NewRegistry(registry.Addrs(addrs...), registry.Timeout(zkTimeout), registry.Logger(registryLogger{logf: t.Logf}))
	t.Cleanup(func() { _ = reg.(interface{ Close() error }).Close() })
	return reg
}

// rawConn is a plain zk connection to addr with an established session,
// closed at the end of the test.
func rawConn(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect([]string{addr}, zkTimeout, zk.WithLogger(zkSilent{}))
	require.NoError(t, err)
	t.Cleanup(conn.Close)
	zktest.Eventually(t, zkTimeout, func() bool { return conn.State() == zk.StateHasSession },
		"no session with %s", addr)
	return conn
}

// zkSilent drops go-zookeeper's log lines.
type zkSilent struct{}

func (zkSilent) Printf(string, ...any) {}

// nodePath is where the registry keeps node id of service name, under the
// default prefix.
func nodePath(name, id string) string {
	return path.Join(engine.DefaultPrefix, engine.EscapeSegment(name), engine.EscapeSegment(id))
}

// ephemeralOwner is the session owning the znode at p; exists is false if
// there is none.
func ephemeralOwner(t *testing.T, conn *zk.Conn, p string) (owner int64, exists bool) {
	t.Helper()
	ok, stat, err := conn.Exists(p)
	require.NoError(t, err)
	if !ok {
		return 0, false
	}
	return stat.EphemeralOwner, true
}

// plantOldRegistration writes a node as the older persistent-node plugin
// (github.com/go-micro/plugins/v4/registry/zookeeper) does: persistent
// znodes, open to everyone, holding the service with its one node as JSON.
// data overrides the payload when it is not nil.
func plantOldRegistration(t *testing.T, conn *zk.Conn, svc *registry.Service, data []byte) string {
	t.Helper()
	if data == nil {
		var err error
		data, err = json.Marshal(svc)
		require.NoError(t, err)
	}
	dir := path.Join(engine.DefaultPrefix, svc.Name)
	for _, p := range []string{engine.DefaultPrefix, dir} {
		_, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
		if err != zk.ErrNodeExists {
			require.NoError(t, err)
		}
	}
	p := path.Join(dir, svc.Nodes[0].Id)
	_, err := conn.Create(p, data, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	return p
}

// oneNodeService is a service with one node.
func oneNodeService(name, version, id, address string, md map[string]string) *registry.Service {
	return &registry.Service{Name: name, Version: version, Nodes: []*registry.Node{{Id: id, Address: address, Metadata: md}}}
}
