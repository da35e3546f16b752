package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/selector"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestBinarySidecarFollowsATCPServerThatGoesDownAndComesBack(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	reg := newZKRegistry(t, srv.Addr)
	conn := rawConn(t, srv.Addr)
	server := startTCPServer(t, "127.0.0.1:0")
	address := server.addr()
	znode := nodePath("greeter", "greeter-1")
	present := func() bool {
		owner, exists := ephemeralOwner(t, conn, znode)
		return exists && owner != 0 && len(nodeIDs(t, reg, "greeter")) == 1
	}
	absent := func() bool {
		_, exists := ephemeralOwner(t, conn, znode)
		return !exists && len(nodeIDs(t, reg, "greeter")) == 0
	}

	p := startBinary(t, nil, zkArgs(srv.Addr, "register", "--name", "greeter", "--version", "1.0.0", "--id", "greeter-1",
		"--address", address, "--check", "tcp://"+address, "--check_interval", "100ms", "--check_failures", "2")...)
	waitFor(t, "an ephemeral node, seen by a registry", present)
	svcs, err := reg.GetService("greeter")
	require.NoError(t, err)
	require.Len(t, svcs, 1)
	assert.Equal(t, "1.0.0", svcs[0].Version)
	assert.Equal(t, address, svcs[0].Nodes[0].Address)
	assert.Equal(t, map[string]string{"registry": "zookeeper", "registrar": "zkmicro"}, svcs[0].Nodes[0].Metadata)

	server.stop()
	waitFor(t, "the node gone after 2 failed checks", absent)

	startTCPServer(t, address)
	waitFor(t, "the node back once the server is", present)

	require.Equal(t, exitOK, p.stop(t, syscall.SIGTERM), "stderr:\n%s", p.stderr)
	_, exists := ephemeralOwner(t, conn, znode)
	require.False(t, exists, "the node is gone when zkmicro has exited")
	waitFor(t, "the registry to see the node gone", absent)
	logs := p.stderr.String()
	for _, want := range []string{
		" zkmicro: greeter-1 healthy: registered\n",
		" zkmicro: greeter-1 unhealthy (2 consecutive failures: ",
		"): deregistered\n",
		" zkmicro: greeter-1 stopped: deregistered\n",
	} {
		assert.Contains(t, logs, want)
	}
	assert.Equal(t, 2, strings.Count(logs, "healthy: registered\n"), "registered, then again once healthy:\n%s", logs)
	assert.Empty(t, p.stdout.String())
}

func TestBinarySidecarNodeIsDiscoveredByGoMicroClients(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	p := startBinary(t, nil, zkArgs(srv.Addr, "register", "--name", "greeter", "--address", "10.0.0.7:4100",
		"--metadata", "protocol=mucp")...)

	// A go-micro v4 client's registry and selector, as a client service
	// started with --registry=zookeeper has them.
	reg := newZKRegistry(t, srv.Addr)
	waitFor(t, "the sidecar's node", func() bool { return len(nodeIDs(t, reg, "greeter")) == 1 })
	svcs, err := reg.GetService("greeter")
	require.NoError(t, err)
	require.Len(t, svcs, 1)
	assert.Equal(t, "latest", svcs[0].Version)
	sel := selector.NewSelector(selector.Registry(reg))
	t.Cleanup(func() { _ = sel.Close() })
	next, err := sel.Select("greeter")
	require.NoError(t, err)
	node, err := next()
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.7:4100", node.Address)
	assert.True(t, strings.HasPrefix(node.Id, "greeter-"), node.Id)
	assert.Equal(t, "mucp", node.Metadata["protocol"])

	require.Equal(t, exitOK, p.stop(t, syscall.SIGINT), "stderr:\n%s", p.stderr)
	waitFor(t, "the node gone", func() bool { return len(nodeIDs(t, reg, "greeter")) == 0 })
}

func TestBinarySidecarOutlivesAClosedLogPipe(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	reg := newZKRegistry(t, srv.Addr)
	server := startTCPServer(t, "127.0.0.1:0")
	address := server.addr()

	// `zkmicro register ... 2>&1 | head -1`: stderr is a pipe whose reader
	// goes away after the first line.
	logs, logsW, err := os.Pipe()
	require.NoError(t, err)
	cmd := command(context.Background(), nil, zkArgs(srv.Addr, "register", "--name", "greeter", "--id", "greeter-1",
		"--address", address, "--check", "tcp://"+address, "--check_interval", "100ms", "--check_failures", "2")...)
	cmd.Stderr = logsW
	require.NoError(t, cmd.Start())
	require.NoError(t, logsW.Close())
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	first, err := bufio.NewReader(logs).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, first, " zkmicro: greeter-1 healthy: registered\n")
	require.NoError(t, logs.Close())
	// waitAlive waits until greeter has the nodes want, failing at once if
	// zkmicro dies meanwhile.
	waitAlive := func(what string, want ...string) {
		t.Helper()
		waitFor(t, what, func() bool {
			select {
			case <-exited:
				t.Fatalf("zkmicro died before %s: %s", what, cmd.ProcessState)
			default:
			}
			return strings.Join(nodeIDs(t, reg, "greeter"), ",") == strings.Join(want, ",")
		})
	}

	// Every transition from now on is logged to the closed pipe.
	server.stop()
	waitAlive("the node deregistered once the server went down")
	startTCPServer(t, address)
	waitAlive("the node registered again once the server came back", "greeter-1")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
	case <-time.After(commandTimeout):
		t.Fatalf("zkmicro did not exit within %s of SIGTERM", commandTimeout)
	}
	require.Equal(t, exitOK, cmd.ProcessState.ExitCode(), "%s", cmd.ProcessState)
	conn := rawConn(t, srv.Addr)
	_, exists := ephemeralOwner(t, conn, nodePath("greeter", "greeter-1"))
	require.False(t, exists, "deregistered when it stopped")
}

func TestBinarySidecarStoppedWhileZooKeeperHangsExitsZero(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	proxy, err := faultproxy.New(srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })
	conn := rawConn(t, srv.Addr)
	znode := nodePath("greeter", "greeter-1")
	p := startBinary(t, []string{engine.EnvSessionTimeout + "=2s"},
		zkArgs(proxy.Addr, "--registry_timeout", "2s", "register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100")...)
	waitFor(t, "the node registered", func() bool {
		_, exists := ephemeralOwner(t, conn, znode)
		return exists
	})

	// ZooKeeper stops answering (a hung server, a partition), and the
	// supervisor stops the sidecar (systemctl stop, a pod's deletion).
	proxy.Partition()
	code := p.stop(t, syscall.SIGTERM)

	require.Equal(t, exitOK, code, "a stop asked for is a success; stderr:\n%s", p.stderr)
	assert.Regexp(t, ` zkmicro: greeter-1 stopped: deregister failed after \S+: .+; ZooKeeper deletes the node when the session expires\n$`,
		p.stderr.String())
	zktest.Eventually(t, 30*time.Second, func() bool {
		_, exists := ephemeralOwner(t, conn, znode)
		return !exists
	}, "the node gone once its session expired (2s)")
}

// A server that is not a go-micro service takes part in load balancing:
// the sidecar registers its weight, and publishes the load it writes to a
// file, when it changes enough, at most once per --load_interval.
func TestBinarySidecarPublishesWeightAndTheLoadOfAFile(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	reg := newZKRegistry(t, srv.Addr)
	conn := rawConn(t, srv.Addr)
	loadFile := filepath.Join(t.TempDir(), "load")
	writeLoad := func(s string) {
		// Written whole and renamed into place, as the manual asks.
		tmp := loadFile + ".tmp"
		require.NoError(t, os.WriteFile(tmp, []byte(s), 0o600))
		require.NoError(t, os.Rename(tmp, loadFile))
	}
	writeLoad("3\n")
	p := startBinary(t, nil, zkArgs(srv.Addr, "register", "--name", "legacy", "--id", "legacy-1", "--address", "10.0.0.7:4100",
		"--weight", "2", "--load_file", loadFile, "--load_interval", "100ms")...)
	metadata := func() map[string]string {
		svcs, err := reg.GetService("legacy")
		if err != nil {
			return nil
		}
		return svcs[0].Nodes[0].Metadata
	}
	waitFor(t, "weight 2, load 3", func() bool { md := metadata(); return md["weight"] == "2" && md["load"] == "3" })
	_, before, err := conn.Get(nodePath("legacy", "legacy-1"))
	require.NoError(t, err)

	writeLoad("3.2") // too small a change to be worth a write
	writeLoad("12.5")
	waitFor(t, "load 12.5", func() bool { return metadata()["load"] == "12.5" })
	_, after, err := conn.Get(nodePath("legacy", "legacy-1"))
	require.NoError(t, err)
	assert.Equal(t, int32(1), after.Version-before.Version, "one write: 3.2 is not worth one")

	writeLoad("busy")
	waitFor(t, "the bad load logged", func() bool {
		return strings.Contains(p.stderr.String(), `legacy-1 reading the load failed, the last load published stays: `+loadFile+` holds "busy"`)
	})
	assert.Equal(t, "12.5", metadata()["load"], "the last load stays")

	require.Equal(t, exitOK, p.stop(t, syscall.SIGTERM), "stderr:\n%s", p.stderr)
}
