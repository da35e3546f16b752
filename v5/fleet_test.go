package zookeeper

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// buildBinaries builds each package of pkgs (output name → package path)
// with `go build` and flags in module directory dir, into a temporary
// directory, and returns the paths of the programs by output name.
func buildBinaries(t *testing.T, dir string, flags []string, pkgs map[string]string) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command builds the programs")
	out := t.TempDir()
	bins := map[string]string{}
	for name, pkg := range pkgs {
		bins[name] = filepath.Join(out, name)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, goTool, append(append([]string{"build"}, flags...), "-o", bins[name], pkg)...)
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		cancel()
		require.NoError(t, err, "go build %s in %s: %s", pkg, dir, b)
	}
	return bins
}

// rootModuleDir is the directory of github.com/zkmicro/zookeeper, the
// go-micro v4 face, whose programs are built there so that no go-micro v4
// package ever enters this module's build.
func rootModuleDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "example", "hello", "server"))
	require.NoError(t, err, "the root module's hello example")
	return dir
}

// server is a long-running program a test started, its output kept for
// failure messages.
type server struct {
	cmd    *exec.Cmd
	log    *zktest.Output
	exited chan struct{}
}

// startServer runs bin with args and env; it is killed when t ends.
func startServer(t *testing.T, env []string, bin string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	s := &server{cmd: cmd, log: &zktest.Output{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
	})
	return s
}

// stop sends SIGTERM, on which go-micro deregisters and exits, and waits.
func (s *server) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM:\n%s", s.cmd.Path, s.log)
	}
}

// containsAll returns a line matcher: the line contains every part.
func containsAll(parts ...string) func(string) bool {
	return func(line string) bool {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				return false
			}
		}
		return true
	}
}

// A fleet in the middle of an upgrade: a go-micro v4 service (the root
// module's hello server, with this repository's v4 registry) and a go-micro
// v5 one (this module's hello server) register the same service on one
// ZooKeeper. Each side discovers, watches and calls the other: the v4
// client's calls are answered by both servers, the v5 client's too, and
// each side's watcher reports the other's node created and deleted. Every
// go-micro runs in its own process: one binary cannot link v4 and v5.
func TestMixedFleetDuringUpgrade(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	// The v4 programs are built as the root module's own tests build them;
	// the v5 server as this test binary was, sharing its compiled
	// go-micro v5.
	v4 := buildBinaries(t, rootModuleDir(t), nil, map[string]string{
		"v4-server": "./example/hello/server",
		"v4-client": "./example/hello/client",
	})
	var v5flags []string
	if raceEnabled {
		v5flags = []string{"-race"}
	}
	v5 := buildBinaries(t, ".", v5flags, map[string]string{"v5-server": "./example/hello/server"})
	env := append(os.Environ(),
		"MICRO_REGISTRY=zookeeper",
		"MICRO_REGISTRY_ADDRESS="+srv.Addr,
		EnvAuth+"=", EnvTLS+"=", EnvTLSCA+"=", EnvTLSCert+"=", EnvTLSKey+"=", EnvTLSServerName+"=",
	)

	// Watchers first, so that they see the servers arrive: a go-micro v5
	// client (this test binary) and the v4 hello client.
	v5cmd := exec.Command(os.Args[0])
	v5cmd.Env = append(append([]string{}, env...), childEnv+"=greeter-client", "ZK_MIN_NODES=2")
	v5client := startProcess(t, v5cmd)
	require.Equal(t, "READY", v5client.waitLine(t, 60*time.Second, func(string) bool { return true }))
	v4watch := startProcess(t, withEnv(exec.Command(v4["v4-client"], "--watch", "--wait=60s"), env))
	v4watch.waitLine(t, 60*time.Second, containsAll("watching greeter"))

	// The demo's server flags (scripts/demo.sh), for both generations.
	flags := []string{"--server_address=127.0.0.1:0", "--broker_address=127.0.0.1:0", "--zookeeper_session_timeout=2s"}
	v4server := startServer(t, env, v4["v4-server"], append(flags, "--host_label=v4-host")...)
	v5server := startServer(t, env, v5["v5-server"], append(flags, "--host_label=v5-host")...)

	// v4 → v5: the v4 client's watcher reports the v5 node, and its calls
	// are answered by both servers.
	v4watch.waitLine(t, 60*time.Second, containsAll(" create ", "greeter 1.0.0", "(host v5-host)"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := withEnv(exec.CommandContext(ctx, v4["v4-client"], "--calls=30", "--interval=10ms", "--min_nodes=2", "--wait=60s", "--name=fleet"), env).CombinedOutput()
	require.NoError(t, err, "v4 client:\n%s\nv4 server:\n%s\nv5 server:\n%s", out, v4server.log, v5server.log)
	assert.Contains(t, string(out), `"Hello fleet, from v5-host"`, "the v5 server answers the v4 client")
	assert.Contains(t, string(out), `"Hello fleet, from v4-host"`)
	assert.Contains(t, string(out), "answered by 2 node(s)")

	// v5 → v4: the v5 client's watcher reports the v4 node, and its calls
	// are answered by the v4 server (and the v5 one).
	v5client.waitLines(t, 30*time.Second,
		containsAll("EVENT create greeter-", "v4-host"),
		containsAll("ANSWER v4-host greeter-"),
		containsAll("ANSWER v5-host greeter-"))

	// Each side sees the other leave.
	v5server.stop(t)
	v4watch.waitLine(t, 30*time.Second, containsAll(" delete ", "(host v5-host)"))
	v4server.stop(t)
	v5client.waitLine(t, 30*time.Second, containsAll("EVENT delete greeter-", "v4-host"))
}

// withEnv sets cmd's environment and returns cmd.
func withEnv(cmd *exec.Cmd, env []string) *exec.Cmd {
	cmd.Env = env
	return cmd
}
