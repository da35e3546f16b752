package zkconfig

// A fleet in the middle of an upgrade shares one configuration: what a
// go-micro v4 program writes, a go-micro v5 source reads, and the other
// way round. Programs of the root module (go-micro v4) are built and run
// beside this test binary: one binary cannot link go-micro v4 and v5.
// This file is written for this module only (it is not generated).

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
	"go-micro.dev/v5/config/source"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// fleetWait bounds each wait for a program: generous, the tests assert no
// timing.
const fleetWait = 60 * time.Second

// fleetEnv is the environment of the programs: the registry (and
// zkmicro's address) at addr, nothing else of ZooKeeper's from the test's
// environment.
func fleetEnv(addr string) []string {
	return append(os.Environ(),
		"MICRO_REGISTRY=zookeeper",
		"MICRO_REGISTRY_ADDRESS="+addr,
		engine.EnvAuth+"=", engine.EnvTLS+"=", engine.EnvTLSCA+"=", engine.EnvTLSCert+"=", engine.EnvTLSKey+"=", engine.EnvTLSServerName+"=",
	)
}

// program is a long-running program a test started, its output kept.
type program struct {
	cmd    *exec.Cmd
	out    *zktest.Output
	exited chan struct{}
}

// startProgram runs bin with args in env; it is killed when t ends.
func startProgram(t *testing.T, env []string, bin string, args ...string) *program {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	p := &program{cmd: cmd, out: &zktest.Output{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// waitFor waits until the program printed a line holding every part.
func (p *program) waitFor(t *testing.T, parts ...string) {
	t.Helper()
	zktest.Eventually(t, fleetWait, func() bool {
		for _, line := range p.out.Lines() {
			if containsAll(line, parts) {
				return true
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited:\n%s", filepath.Base(p.cmd.Path), p.out)
		default:
		}
		return false
	}, "%s printed no line holding %q:\n%s", filepath.Base(p.cmd.Path), parts, p.out)
}

// runProgram runs bin with args in env to its end and returns its output.
func runProgram(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fleetWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %q:\n%s", filepath.Base(bin), args, out)
	return string(out)
}

// containsAll reports whether line holds every one of parts.
func containsAll(line string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(line, part) {
			return false
		}
	}
	return true
}

// One write, by either go-micro, reaches a go-micro v4 source and a
// go-micro v5 source alike. The v4 source is zkmicro's (the root module's
// zkconfig, as `zkmicro config watch` prints each change); the v5 source
// is this package's, in this process.
func TestOneWriteReachesV4AndV5Sources(t *testing.T) {
	srv := zktest.Start(t)
	zkmicro := zktest.BuildPrograms(t, "../..", map[string]string{"zkmicro": "./cmd/zkmicro"})["zkmicro"]
	env := fleetEnv(srv.Addr)
	const prefix = "/micro-config/fleet"

	v4 := startProgram(t, env, zkmicro, "config", "--prefix", prefix, "watch")
	v4.waitFor(t, " zkmicro: watching every key in "+prefix)
	v5 := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix))
	require.Equal(t, "{}", read(t, v5))
	w := watch(t, v5)

	// go-micro v4's SetKey (zkmicro config set) writes.
	assert.Empty(t, runProgram(t, env, zkmicro, "config", "--prefix", prefix, "set", "greeting", "Hej"))
	assert.Equal(t, `{"greeting":"Hej"}`, nextData(t, w), "the v5 source")
	v4.waitFor(t, " create greeting ", `"Hej"`)

	// go-micro v5's SetKey writes.
	require.NoError(t, SetKey(v5, []byte(`3307`), "database", "port"))
	assert.Equal(t, `{"database":{"port":3307},"greeting":"Hej"}`, nextData(t, w))
	v4.waitFor(t, " create database.port 3307")

	// go-micro v5's Write replaces the configuration; a v4 reader reads it.
	require.NoError(t, v5.Write(&source.ChangeSet{Format: "json", Data: []byte(`{"database":{"port":3308}}`)}))
	assert.Equal(t, `{"database":{"port":3308}}`, nextData(t, w))
	v4.waitFor(t, " update database.port 3308")
	v4.waitFor(t, " delete greeting ")
	assert.Equal(t, `{"database":{"port":3308}}`+"\n", runProgram(t, env, zkmicro, "config", "--prefix", prefix, "get", "-o", "json"))

	// go-micro v4's DeleteKey (zkmicro config delete) writes.
	assert.Empty(t, runProgram(t, env, zkmicro, "config", "--prefix", prefix, "delete", "database"))
	assert.Equal(t, `{}`, nextData(t, w))
	v4.waitFor(t, " delete database.port ")
}

// The hello example's servers, one on go-micro v4 and one on go-micro v5,
// each take their greeting from the configuration over their registry's
// session (zkconfig.WithRegistry in each line's zkconfig): one `zkmicro
// config set` changes both replies without a restart, and a delete brings
// both back to "Hello" (on go-micro v5, a return to where a conf.Watch
// began: the servers watch the config's loader instead).
func TestHelloServersOfBothLinesFollowOneGreeting(t *testing.T) {
	srv := zktest.Start(t)
	v4 := zktest.BuildPrograms(t, "../..", map[string]string{
		"zkmicro":   "./cmd/zkmicro",
		"v4-server": "./example/hello/server",
		"v4-client": "./example/hello/client",
	})
	v5 := zktest.BuildPrograms(t, "..", map[string]string{"v5-server": "./example/hello/server"})
	env := fleetEnv(srv.Addr)
	flags := []string{"--server_address=127.0.0.1:0", "--broker_address=127.0.0.1:0", "--config_prefix=/micro-config/greeter"}
	v4server := startProgram(t, env, v4["v4-server"], append(flags, "--host_label=v4-host")...)
	v5server := startProgram(t, env, v5["v5-server"], append(flags, "--host_label=v5-host")...)

	// answers waits until the v4 client's calls get both servers' replies
	// with the greeting word.
	answers := func(word string) {
		t.Helper()
		var out string
		zktest.Eventually(t, fleetWait, func() bool {
			out = runProgram(t, env, v4["v4-client"], "--calls=20", "--interval=10ms", "--min_nodes=2", "--wait=60s", "--name=fleet")
			return strings.Contains(out, `"`+word+` fleet, from v4-host"`) && strings.Contains(out, `"`+word+` fleet, from v5-host"`)
		}, "the servers never both said %s:\n%s\nv4 server:\n%s\nv5 server:\n%s", word, out, v4server.out, v5server.out)
	}
	answers("Hello")
	assert.Empty(t, runProgram(t, env, v4["zkmicro"], "config", "--prefix", "/micro-config/greeter", "set", "greeting", "Hej"))
	answers("Hej")
	assert.Empty(t, runProgram(t, env, v4["zkmicro"], "config", "--prefix", "/micro-config/greeter", "delete", "greeting"))
	answers("Hello")
	// Each says so in its log (v5's logger escapes the quotes).
	v4server.waitFor(t, "hello: greeting is ", "Hej")
	v5server.waitFor(t, "hello: greeting is ", "Hej")
}
