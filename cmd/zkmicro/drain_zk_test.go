package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Registrations protected by credentials: drain and undrain work with the
// credentials that registered the node, and not without; the server that
// owns the node keeps the status across its re-registrations.
func TestBinaryDrainAndUndrainANodeWithItsCredentials(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	owner := zookeeper.NewRegistry(registry.Addrs(srv.Addr), registry.Timeout(zkTimeout),
		zookeeper.Auth("digest", []byte("svc:secret")), registry.Logger(registryLogger{logf: t.Logf}))
	t.Cleanup(func() { _ = owner.(interface{ Close() error }).Close() })
	register(t, owner, "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100", map[string]string{"host": "a"})
	reg := newZKRegistry(t, srv.Addr)
	status := func() string {
		svcs, err := reg.GetService("greeter")
		require.NoError(t, err)
		return svcs[0].Nodes[0].Metadata[engine.MetaStatus]
	}
	creds := []string{"MICRO_REGISTRY_ZOOKEEPER_AUTH=digest:svc:secret"}

	r := runBinary(t, nil, zkArgs(srv.Addr, "drain", "greeter", "greeter-1")...)
	require.Equal(t, exitError, r.code, "without the credentials: stdout %q", r.stdout)
	assert.Contains(t, r.stderr, `zkmicro: drain "greeter" "greeter-1": zookeeper: set status: `)
	assert.Contains(t, r.stderr, "does not grant WRITE")
	assert.Empty(t, r.stdout)

	r = runBinary(t, creds, zkArgs(srv.Addr, "drain", "greeter", "greeter-1")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, "greeter-1 of greeter: draining\n", r.stdout)
	assert.Empty(t, r.stderr)
	waitFor(t, "the node draining", func() bool { return status() == engine.StatusDraining })
	register(t, owner, "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100", map[string]string{"host": "a"})
	assert.Equal(t, engine.StatusDraining, status(), "the owner keeps the status when it registers again")

	r = runBinary(t, nil, zkArgs(srv.Addr, "get", "greeter")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stdout, "host=a,status=draining")

	r = runBinary(t, creds, zkArgs(srv.Addr, "undrain", "greeter", "greeter-1")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, "greeter-1 of greeter: serving\n", r.stdout)
	waitFor(t, "the node serving", func() bool { return status() == "" })

	r = runBinary(t, creds, zkArgs(srv.Addr, "drain", "greeter", "greeter-\x1b[2J")...)
	require.Equal(t, exitError, r.code)
	assert.Equal(t, "zkmicro: drain \"greeter\" \"greeter-\\x1b[2J\": no such node\n", r.stderr, "escaped for the terminal")
}
