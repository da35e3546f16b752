package zkresolver

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// A grpc server that the zkmicro register sidecar keeps registered is
// reachable through the resolver, and its calls fail, saying why, once
// the sidecar stops and deregisters it.
func TestSidecarRegisteredServerIsReachable(t *testing.T) {
	// Built before the server starts, so that the build holds no
	// ZooKeeper test slot.
	bin := zktest.BuildPrograms(t, "", map[string]string{"zkmicro": "github.com/zkmicro/zookeeper/cmd/zkmicro"})["zkmicro"]
	zk := zktest.Start(t)
	srv := startHealthServer(t)
	var stderr zktest.Output
	sidecar := exec.Command(bin, "--registry_address", zk.Addr, "register", "--name", "greeter", "--id", "greeter-1",
		"--address", srv.addr, "--check", "tcp://"+srv.addr, "--check_interval", "100ms")
	sidecar.Stderr = &stderr
	require.NoError(t, sidecar.Start())
	exited := make(chan error, 1)
	go func() { exited <- sidecar.Wait() }()
	t.Cleanup(func() {
		_ = sidecar.Process.Kill()
		<-exited
	})

	reg := newRegistry(t, zk.Addr)
	rec := &recorder{}
	conn := dial(t, recordingBuilder{NewBuilder(reg), rec}, "zookeeper:///greeter", pickFirst)
	waitAnswering(t, conn, "calls on the server the sidecar registered", srv.addr)
	n, ok := NodeFromEndpoint(rec.lastState(t).Endpoints[0])
	require.True(t, ok)
	assert.Equal(t, "greeter-1", n.ID)
	assert.Equal(t, "zkmicro", n.Metadata["registrar"])

	require.NoError(t, sidecar.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "zkmicro register exits 0 at SIGTERM; stderr:\n%s", stderr.String())
		exited <- err // for the cleanup
	case <-time.After(wait):
		t.Fatalf("zkmicro register did not exit within %v of SIGTERM; stderr:\n%s", wait, stderr.String())
	}
	zktest.WaitFor(t, wait, "calls failing with the resolver's error", func() error {
		addr, err := check(conn)
		switch {
		case err == nil:
			return fmt.Errorf("a call landed on %s", addr)
		case !strings.Contains(err.Error(), `zookeeper: resolve service "greeter": no nodes`):
			return err
		}
		return nil
	})
}
