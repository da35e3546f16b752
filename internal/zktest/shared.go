package zktest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
)

// Namespace is a test's own part of the ZooKeeper server that the tests of
// one test binary share (Shared): a znode, Root, under which the test
// works, the code under test seeing it as the root of ZooKeeper (a
// chroot). Other tests work beside it on the same server at the same
// time.
type Namespace struct {
	// Addr is the address for the code under test: the server's, with
	// Root as its chroot. A chroot of the test's own may follow
	// (Addr + "/apps/prod").
	Addr string
	// ServerAddr is the server's address without a chroot, for a plain zk
	// connection (go-zookeeper has no chroot): its paths start with Root
	// (Path).
	ServerAddr string
	// Root is the namespace's znode, created empty and open to all.
	Root string

	server *Server
}

// Path is the path on the server of p, a path as the code under test sees
// it through Addr.
func (n *Namespace) Path(p string) string {
	if p == "/" {
		return n.Root
	}
	return n.Root + p
}

// SessionAlive reports whether the server still tracks session sid
// (Server.SessionAlive): session ids are unique on the server, whoever
// shares it.
func (n *Namespace) SessionAlive(sid int64) bool { return n.server.SessionAlive(sid) }

// LogTail returns the last lines of the shared server's log, for failure
// messages.
func (n *Namespace) LogTail(lines int) string { return n.server.LogTail(lines) }

// shared is the test binary's shared server, started by the first Shared.
var shared struct {
	once   sync.Once
	server *Server
	err    error

	mu    sync.Mutex // guards names
	names int        // namespaces made so far
}

// sharedPrefix starts the names of the shared servers' directories, each
// holding the id of the process that started it (sharedOwnerFile).
const (
	sharedPrefix    = "zktest-shared-"
	sharedOwnerFile = "owner-pid"
)

// Shared returns a namespace of t's own on the ZooKeeper server that the
// tests of this test binary share, started by the first call and running
// until the test binary exits (as a standalone server, with the options of
// Start). Most tests only need a part of ZooKeeper to themselves; sharing a
// server saves each of them a JVM's start. A test that stops, kills or
// restarts servers, cuts them off, configures them (TLS, its own zoo.cfg
// lines), or counts what a whole server holds (mntr, cons) starts its own
// with Start. Under go test -short it skips t. It may first wait for a slot
// (EnvMaxTests).
func Shared(t TB) *Namespace {
	t.Helper()
	skipShort(t)
	holdSlot(t)
	shared.once.Do(func() { shared.server, shared.err = startShared() })
	if shared.err != nil {
		t.Fatalf("zktest: the shared ZooKeeper did not start: %v", shared.err)
	}
	shared.mu.Lock()
	shared.names++
	root := "/" + namespaceName(t) + "-" + strconv.Itoa(shared.names)
	shared.mu.Unlock()
	if err := createZnode(shared.server.Addr, root); err != nil {
		t.Fatalf("zktest: namespace %s on the shared ZooKeeper: %v; log:\n%s", root, err, shared.server.LogTail(40))
	}
	return &Namespace{Addr: shared.server.Addr + root, ServerAddr: shared.server.Addr, Root: root, server: shared.server}
}

// namespaceName names a namespace after its test, for whoever reads the
// server's log or dump.
func namespaceName(t TB) string {
	named, ok := t.(interface{ Name() string })
	if !ok {
		return "ns"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '.'
	}, named.Name())
}

// startShared starts the shared server in a directory of its own outside
// any test's, first removing those left by test binaries that have ended.
// Nothing stops it: it is killed with the test binary (Pdeathsig). No
// goroutine waits for it, so that goleak finds none left at the end.
func startShared() (*Server, error) {
	removeStaleShared()
	java, err := javaArgs(options{}, "org.apache.zookeeper.server.ZooKeeperServerMain")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken before ZooKeeper binds it
		var s *Server
		if s, lastErr = startDetached(java); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// startDetached starts a standalone server with the command line java in
// a new directory, and waits until it serves. A server that does not is
// killed and its directory removed.
func startDetached(java []string) (_ *Server, err error) {
	dir, err := os.MkdirTemp("", sharedPrefix)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, sharedOwnerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	ports, err := freeLoopbackPorts(1)
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, ClientPort: ports[0], Addr: "127.0.0.1:" + strconv.Itoa(ports[0]), java: java}
	if err := writeConfigFile(s, options{}, nil); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the server has its own descriptor
	cmd := exec.Command(java[0], append(java[1:], filepath.Join(dir, "zoo.cfg"))...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if mode, err := s.Mode(); err == nil && mode != "" {
			return s, nil
		}
		var ws syscall.WaitStatus
		if pid, _ := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WNOHANG, nil); pid == cmd.Process.Pid {
			return nil, fmt.Errorf("server %s exited; log:\n%s", s.Addr, s.LogTail(40))
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			return nil, fmt.Errorf("server %s not serving after %v; log:\n%s", s.Addr, startTimeout, s.LogTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeStaleShared removes the directories of shared servers whose test
// binary has ended.
func removeStaleShared() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), sharedPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, sharedOwnerFile))
		if err != nil {
			continue // not started yet, or not one of ours
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil || errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}

// createZnode creates the empty znode p, open to all, on the server at
// addr.
func createZnode(addr, p string) error {
	c, _, err := zk.Connect([]string{addr}, 30*time.Second, zk.WithLogger(quietZK{}))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
	return err
}

// quietZK drops go-zookeeper's log lines.
type quietZK struct{}

func (quietZK) Printf(string, ...any) {}
