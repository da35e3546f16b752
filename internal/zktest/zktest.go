// Package zktest runs real Apache ZooKeeper servers for tests: standalone
// servers and ensembles on free loopback ports, each in its own temporary
// directory, stopped when the test ends (Start, StartEnsemble, StartTLS);
// or a namespace of the test's own on one server that the tests of a test
// binary share (Shared). It needs Java and a ZooKeeper jar (Debian's
// zookeeper package: scripts/install-zookeeper.sh installs it). A missing
// ZooKeeper fails the test: it is never skipped. EnvMaxTests limits how
// many tests use ZooKeeper at once; BuildProgram builds the programs tests
// run as processes.
package zktest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvJar names the environment variable that points at the ZooKeeper server
// jar when it is not at DefaultJar.
const EnvJar = "ZOOKEEPER_JAR"

// DefaultJar is where Debian's zookeeper package puts the server jar.
const DefaultJar = "/usr/share/java/zookeeper.jar"

// TickTime is the servers' tick. Sessions may last from 2 to 300 ticks
// (maxSessionTimeout is raised so that 10 s sessions are not clamped).
const TickTime = 200 * time.Millisecond

// startTimeout bounds the wait for a server to serve.
const startTimeout = 60 * time.Second

// TB is what zktest needs of its caller: *testing.T and *testing.B have it,
// and a program that is not a test can provide it (the bench/ harness
// does). Fatal and Fatalf must not return.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// Option configures servers.
type Option func(*options)

type options struct {
	extraConfig []string
	classpath   []string
	jvmFlags    []string
}

// Config adds lines to every server's zoo.cfg (e.g. "secureClientPort=...").
// Lines may use {{dir}}, replaced by the server's directory.
func Config(lines ...string) Option {
	return func(o *options) { o.extraConfig = append(o.extraConfig, lines...) }
}

// Classpath adds jars to the servers' class path.
func Classpath(jars ...string) Option {
	return func(o *options) { o.classpath = append(o.classpath, jars...) }
}

// JVMFlags adds flags to the servers' java command line.
func JVMFlags(flags ...string) Option {
	return func(o *options) { o.jvmFlags = append(o.jvmFlags, flags...) }
}

// Server is one ZooKeeper server process.
type Server struct {
	ID         int    // 0 for a standalone server, else its ensemble id
	Dir        string // its directory: zoo.cfg, data, server.log
	ClientPort int
	Addr       string // 127.0.0.1:ClientPort

	peerPort, electionPort int
	java                   []string

	mu     sync.Mutex // guards cmd, exited
	cmd    *exec.Cmd
	exited chan struct{}
}

// Ensemble is a ZooKeeper ensemble.
type Ensemble struct {
	Servers []*Server
}

// Addrs returns the client addresses of all servers.
func (e *Ensemble) Addrs() []string {
	addrs := make([]string, len(e.Servers))
	for i, s := range e.Servers {
		addrs[i] = s.Addr
	}
	return addrs
}

// skipShort skips t under go test -short: the short tier runs pure code
// only, and make test runs everything.
func skipShort(t TB) {
	if s, ok := t.(interface{ Skip(args ...any) }); ok && testing.Testing() && testing.Short() {
		s.Skip("zktest: needs a real ZooKeeper; runs without -short (make test)")
	}
}

// Start starts a standalone server and waits until it serves. It is
// stopped when t ends. Under go test -short it skips t. It may first wait
// for a slot (EnvMaxTests).
func Start(t TB, opts ...Option) *Server {
	t.Helper()
	skipShort(t)
	holdSlot(t)
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	java := javaCommand(t, o, "org.apache.zookeeper.server.ZooKeeperServerMain")
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken before ZooKeeper binds it
		s := &Server{Dir: t.TempDir(), java: java}
		ports := freePorts(t, 1)
		s.ClientPort, s.Addr = ports[0], "127.0.0.1:"+strconv.Itoa(ports[0])
		writeConfig(t, s, o, nil)
		t.Cleanup(s.Kill)
		if lastErr = s.start(); lastErr == nil {
			if lastErr = s.WaitServing(startTimeout); lastErr == nil {
				return s
			}
		}
		s.Kill()
	}
	t.Fatalf("zktest: standalone ZooKeeper did not start: %v", lastErr)
	return nil
}

// StartEnsemble starts an ensemble of n servers and waits until all of them
// serve. It is stopped when t ends. Under go test -short it skips t. It
// may first wait for a slot (EnvMaxTests).
func StartEnsemble(t TB, n int, opts ...Option) *Ensemble {
	t.Helper()
	skipShort(t)
	holdSlot(t)
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	java := javaCommand(t, o, "org.apache.zookeeper.server.quorum.QuorumPeerMain")
	ports := freePorts(t, 3*n)
	e := &Ensemble{}
	for i := 0; i < n; i++ {
		s := &Server{
			ID:           i + 1,
			Dir:          t.TempDir(),
			ClientPort:   ports[3*i],
			peerPort:     ports[3*i+1],
			electionPort: ports[3*i+2],
			java:         java,
		}
		s.Addr = "127.0.0.1:" + strconv.Itoa(s.ClientPort)
		e.Servers = append(e.Servers, s)
		t.Cleanup(s.Kill)
	}
	var members []string
	for _, s := range e.Servers {
		members = append(members, fmt.Sprintf("server.%d=127.0.0.1:%d:%d", s.ID, s.peerPort, s.electionPort))
	}
	for _, s := range e.Servers {
		writeConfig(t, s, o, members)
		if err := s.start(); err != nil {
			t.Fatalf("zktest: %v", err)
		}
	}
	for _, s := range e.Servers {
		if err := s.WaitServing(startTimeout); err != nil {
			t.Fatalf("zktest: ensemble did not form: %v", err)
		}
	}
	return e
}

// Leader returns the server that is leader now, or an error if none is.
func (e *Ensemble) Leader() (*Server, error) {
	for _, s := range e.Servers {
		if mode, err := s.Mode(); err == nil && mode == "leader" {
			return s, nil
		}
	}
	return nil, errors.New("zktest: no leader")
}

// WaitLeader waits up to d for a leader and returns it.
func (e *Ensemble) WaitLeader(d time.Duration) (*Server, error) {
	deadline := time.Now().Add(d)
	for {
		l, err := e.Leader()
		if err == nil || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func javaCommand(t TB, o options, main string) []string {
	t.Helper()
	args, err := javaArgs(o, main)
	if err != nil {
		t.Fatalf("zktest: %v", err)
	}
	return args
}

// javaArgs is the command line of a server with options o and main class
// main, or why there is none.
func javaArgs(o options, main string) ([]string, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java not found: run scripts/install-zookeeper.sh (Debian/Ubuntu) or install a JRE and ZooKeeper")
	}
	jar := os.Getenv(EnvJar)
	if jar == "" {
		jar = DefaultJar
	}
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("ZooKeeper jar %s not found (%v): run scripts/install-zookeeper.sh, or set %s", jar, err, EnvJar)
	}
	cp := append([]string{jar}, o.classpath...)
	// Debian's jar logs through slf4j; with slf4j-simple on the class path
	// the server's log lands in server.log, which failures print.
	if simple := filepath.Join(filepath.Dir(jar), "slf4j-simple.jar"); fileExists(simple) {
		cp = append(cp, simple)
	}
	args := []string{java,
		"-Xmx256m", "-Xms32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
		"-Djava.net.preferIPv4Stack=true",
		"-Dzookeeper.admin.enableServer=false",
		"-Dznode.container.checkIntervalMs=1000", // empty containers go within a second
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
	}
	args = append(args, o.jvmFlags...)
	return append(args, "-cp", strings.Join(cp, string(os.PathListSeparator)), main), nil
}

func writeConfig(t TB, s *Server, o options, members []string) {
	t.Helper()
	if err := writeConfigFile(s, o, members); err != nil {
		t.Fatal(err)
	}
}

// writeConfigFile writes s's zoo.cfg, and its myid in an ensemble.
func writeConfigFile(s *Server, o options, members []string) error {
	data := filepath.Join(s.Dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	lines := []string{
		"tickTime=" + strconv.Itoa(int(TickTime/time.Millisecond)),
		"initLimit=25",
		"syncLimit=10",
		"dataDir=" + data,
		"clientPort=" + strconv.Itoa(s.ClientPort),
		"clientPortAddress=127.0.0.1",
		"maxSessionTimeout=60000",
		"admin.enableServer=false",
		"4lw.commands.whitelist=*",
		"maxClientCnxns=0",
	}
	if len(members) > 0 {
		lines = append(lines, members...)
		lines = append(lines, "reconfigEnabled=false", "standaloneEnabled=false", "quorumListenOnAllIPs=false")
		if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(s.ID)+"\n"), 0o644); err != nil {
			return err
		}
	}
	for _, l := range o.extraConfig {
		lines = append(lines, strings.ReplaceAll(l, "{{dir}}", s.Dir))
	}
	return os.WriteFile(filepath.Join(s.Dir, "zoo.cfg"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// start launches the server process; it does not wait for it to serve.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("server %s already running", s.Addr)
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append(append([]string{}, s.java...), filepath.Join(s.Dir, "zoo.cfg"))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with the test process, even if the test is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.Addr, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	return nil
}

// Start restarts a stopped or killed server and waits until it serves.
func (s *Server) Start() error {
	if err := s.start(); err != nil {
		return err
	}
	return s.WaitServing(startTimeout)
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. It does nothing if the server is not running.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop stops the server with SIGTERM and waits for it to exit.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// Running reports whether the server process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// WaitServing waits up to d until the server answers requests.
func (s *Server) WaitServing(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		mode, err := s.Mode()
		if err == nil && mode != "" {
			return nil
		}
		if !s.Running() {
			return fmt.Errorf("server %s exited; log:\n%s", s.Addr, s.LogTail(40))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %s not serving after %v (%v); log:\n%s", s.Addr, d, err, s.LogTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Mode returns "standalone", "leader" or "follower" from the srvr
// four-letter word, or an error while the server does not serve.
func (s *Server) Mode() (string, error) {
	out, err := FourLetter(s.Addr, "srvr")
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("not serving: %s", strings.TrimSpace(out))
}

// FourLetter sends a four-letter word to the server at addr and returns its
// answer.
func FourLetter(addr, word string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(word)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		return "", err
	}
	return string(b), nil
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freePorts returns n distinct free loopback ports.
func freePorts(t TB, n int) []int {
	t.Helper()
	ports, err := freeLoopbackPorts(n)
	if err != nil {
		t.Fatalf("zktest: no free port: %v", err)
	}
	return ports
}

// freeLoopbackPorts returns n distinct loopback ports free a moment ago.
func freeLoopbackPorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// SessionAlive reports whether the server still tracks session sid (its
// "dump" four-letter word), so that a test can wait for an expiry rather
// than guess it from a closed connection. On a server that does not answer
// it reports true: the session may well be alive.
func (s *Server) SessionAlive(sid int64) bool { return sessionAlive(s.Addr, sid) }

// sessionAlive is SessionAlive of the server at addr.
func sessionAlive(addr string, sid int64) bool {
	out, err := FourLetter(addr, "dump")
	sessions, _, _ := strings.Cut(out, "ephemeral nodes dump:")
	return err != nil || !strings.Contains(sessions, "SessionTracker dump:") || strings.Contains(sessions, fmt.Sprintf("0x%x", sid))
}
