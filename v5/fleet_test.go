package zookeeper

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v5/client"
	"go-micro.dev/v5/logger"
	"go-micro.dev/v5/registry"

	"github.com/zkmicro/zookeeper/example/hello/greeter"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

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
	// Each module's programs are built in it, as its own tests build them.
	v4 := zktest.BuildPrograms(t, rootModuleDir(t), map[string]string{
		"v4-server": "./example/hello/server",
		"v4-client": "./example/hello/client",
	})
	v5 := zktest.BuildPrograms(t, ".", map[string]string{"v5-server": "./example/hello/server"})
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

// lineProcess is a process a test started whose output it reads line by
// line: the test binary as the fleet's v5 client, or the v4 hello client.
// Its output lines arrive on lines.
type lineProcess struct {
	cmd   *exec.Cmd
	lines chan string
}

// startProcess starts cmd, collecting its standard output line by line,
// and kills it when t ends.
func startProcess(t *testing.T, cmd *exec.Cmd) *lineProcess {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cmd.Stderr == nil {
		cmd.Stderr = io.Discard
	}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &lineProcess{cmd: cmd, lines: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // closes the pipe, so the reader ends even if a grandchild holds it
		<-done
	})
	return c
}

// waitLine returns the first line of c's output that match accepts,
// failing t after d; lines before it are dropped.
func (c *lineProcess) waitLine(t *testing.T, d time.Duration, match func(string) bool) string {
	t.Helper()
	return c.waitLines(t, d, match)[0]
}

// waitLines reads c's output until each matcher accepted a line, in any
// order, and returns those lines in the matchers' order, failing t after d
// with the last lines read. Lines no matcher wants are dropped.
func (c *lineProcess) waitLines(t *testing.T, d time.Duration, matchers ...func(string) bool) []string {
	t.Helper()
	got := make([]string, len(matchers))
	left := len(matchers)
	var skipped []string
	deadline := time.After(d)
	for left > 0 {
		select {
		case line := <-c.lines:
			matched := false
			for i, m := range matchers {
				if got[i] == "" && m(line) {
					got[i], matched = line, true
					left--
					break
				}
			}
			if !matched {
				skipped = append(skipped[max(0, len(skipped)-19):], line)
			}
		case <-deadline:
			t.Fatalf("%s: %d expected line(s) missing after %v; last lines:\n%s",
				c.cmd.Path, left, d, strings.Join(skipped, "\n"))
		}
	}
	return got
}

// runGreeterClient is a go-micro v5 client of the hello example's greeter,
// configured by flags and environment like any v5 service. It prints
// "READY" once it watches the service, then "EVENT <action> <node id>
// <host>" for every change its registry's Watcher reports, and "ANSWER
// <host> <node id>" for every call that go-micro's selector routed and the
// greeter answered. It calls every 100 ms, until killed, from the moment its
// watcher saw ZK_MIN_NODES nodes created: go-micro v5's registry cache
// looks a service up again at most every 5 s after a lookup that found
// nothing, and ignores watch events of a service it has not found yet.
func runGreeterClient() int {
	_ = logger.Init(logger.WithLevel(logger.ErrorLevel))
	service := newService("greeter.v5client")
	service.Init()
	reg := service.Options().Registry
	if reg.String() != "zookeeper" {
		fmt.Println("ERROR registry is", reg.String())
		return 1
	}
	w, err := reg.Watch(registry.WatchService(greeter.Service))
	if err != nil {
		fmt.Println("ERROR watch:", err)
		return 1
	}
	var out sync.Mutex // serialises lines
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	minNodes, _ := strconv.Atoi(os.Getenv("ZK_MIN_NODES"))
	found := make(chan struct{}) // closed once minNodes nodes were created
	say("READY")
	go func() {
		created := 0
		for {
			res, err := w.Next()
			if err != nil {
				say("ERROR watch stopped: %v", err)
				return
			}
			for _, n := range res.Service.Nodes {
				say("EVENT %s %s %s", res.Action, n.Id, n.Metadata[greeter.HostLabel])
			}
			if res.Action == "create" {
				if created++; created == minNodes {
					close(found)
				}
			}
		}
	}()
	if minNodes > 0 {
		<-found
	}
	c := service.Client()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req := c.NewRequest(greeter.Service, greeter.Endpoint, &greeter.Request{Name: "v5"},
			client.WithContentType(greeter.ContentType))
		rsp := new(greeter.Response)
		err := c.Call(ctx, req, rsp)
		cancel()
		if err == nil {
			say("ANSWER %s %s", rsp.Host, rsp.Node)
		} else {
			say("CALLERR %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
