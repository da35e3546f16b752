package zookeeper

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// buildHello builds the hello example's server and client and returns
// their paths.
func buildHello(t *testing.T) (server, client string) {
	t.Helper()
	bins := zktest.BuildPrograms(t, "", map[string]string{"server": "./example/hello/server", "client": "./example/hello/client"})
	return bins["server"], bins["client"]
}

// TestHelloExampleOverTLS runs the demo's programs, configured the way the
// README shows (--registry=zookeeper, --registry_address, the
// MICRO_REGISTRY_ZOOKEEPER_TLS* variables), against a ZooKeeper that only
// accepts TLS with a client certificate: the server registers, the client
// discovers and calls it, and SIGTERM deregisters it.
func TestHelloExampleOverTLS(t *testing.T) {
	t.Parallel()
	srv, secureAddr, pki := zktest.StartTLS(t)
	raw := rawConn(t, srv.Addr)
	serverBin, clientBin := buildHello(t)

	env := append(os.Environ(),
		"MICRO_REGISTRY=zookeeper",
		"MICRO_REGISTRY_ADDRESS="+secureAddr,
		EnvTLSCA+"="+pki.CAFile,
		EnvTLSCert+"="+pki.ClientCertFile,
		EnvTLSKey+"="+pki.ClientKeyFile,
		EnvAuth+"=",
	)

	server := exec.Command(serverBin, "--host_label=tls-host", "--server_address=127.0.0.1:0")
	server.Env = env
	serverLog := &zktest.Output{}
	server.Stdout, server.Stderr = serverLog, serverLog
	server.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, server.Start())
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	t.Cleanup(func() {
		_ = server.Process.Kill()
		<-exited
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client := exec.CommandContext(ctx, clientBin, "--calls=3", "--interval=10ms", "--wait=60s", "--name=tls")
	client.Env = env
	out, err := client.CombinedOutput()
	require.NoError(t, err, "client:\n%s\nserver:\n%s", out, serverLog)
	assert.Contains(t, string(out), `"Hello tls, from tls-host" answered by node greeter-`)
	assert.Contains(t, string(out), "answered by 1 node(s)")

	children, _, err := raw.Children(DefaultPrefix + "/greeter")
	require.NoError(t, err)
	require.Len(t, children, 1, "the server's node, seen by a plaintext observer")

	// SIGTERM: go-micro deregisters, and the node is gone at once rather
	// than one session timeout later.
	require.NoError(t, server.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
		exited <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not stop on SIGTERM:\n%s", serverLog)
	}
	children, _, err = raw.Children(DefaultPrefix + "/greeter")
	if !errors.Is(err, zk.ErrNoNode) { // the empty container may be gone already
		require.NoError(t, err)
		assert.Empty(t, children, "the node must be gone once the server stopped")
	}
}
