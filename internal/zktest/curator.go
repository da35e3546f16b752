package zktest

// This file is the Java peer of the Curator tests: a real Apache Curator
// ServiceDiscovery (curator-x-discovery 5.4, Debian's packages) in its own
// JVM, driven over stdin and stdout (java/CuratorPeer.java documents the
// line protocol). The peer is compiled once per test binary at most: the
// classes are kept in a directory of the system's temporary directory named
// by a hash of the sources, the class path and javac, so that later test
// binaries with the same sources reuse them.

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvCuratorJars names the environment variable that points at the
// directory holding Curator's jars and their dependencies when it is not
// DefaultCuratorJars.
const EnvCuratorJars = "CURATOR_JARS"

// DefaultCuratorJars is where Debian's packages put Curator's jars
// (libcurator-discovery-java, libcurator-framework-java,
// libcurator-recipes-java) and their dependencies.
const DefaultCuratorJars = "/usr/share/java"

// DefaultCuratorBase is the base path of Curator's service discovery, and
// Spring Cloud Zookeeper's default root.
const DefaultCuratorBase = "/services"

// curatorJars are the jars the peer needs, in DefaultCuratorJars' names.
var curatorJars = []string{
	"curator-x-discovery.jar", "curator-recipes.jar", "curator-framework.jar", "curator-client.jar",
	"zookeeper.jar", "zookeeper-jute.jar", "guava.jar",
	"jackson-core.jar", "jackson-databind.jar", "jackson-annotations.jar",
	"slf4j-api.jar",
}

// curatorTimeout bounds the wait for the peer to start (a JVM, a
// connection) and for each of its answers.
const curatorTimeout = 60 * time.Second

//go:embed java/*.java
var curatorSources embed.FS

// CuratorOption configures a Curator peer.
type CuratorOption func(*curatorOptions)

type curatorOptions struct {
	base    string
	chroot  string
	auth    string
	session time.Duration
}

// CuratorBase sets the peer's base path. Default DefaultCuratorBase.
func CuratorBase(p string) CuratorOption { return func(o *curatorOptions) { o.base = p } }

// CuratorChroot makes the peer connect under chroot p ("/apps/prod"), as a
// connect string ending in it does. Default none.
func CuratorChroot(p string) CuratorOption { return func(o *curatorOptions) { o.chroot = p } }

// CuratorDigest adds digest credentials user:password to the peer's
// session. Default none.
func CuratorDigest(user, password string) CuratorOption {
	return func(o *curatorOptions) { o.auth = "digest:" + user + ":" + password }
}

// CuratorSessionTimeout sets the peer's session timeout: how long its
// ephemeral instances outlive a SIGKILL. Default 10 s.
func CuratorSessionTimeout(d time.Duration) CuratorOption {
	return func(o *curatorOptions) { o.session = d }
}

// CuratorInstance is a ServiceInstance the peer registers with Curator's
// ServiceDiscovery. Zero values leave Curator's defaults.
type CuratorInstance struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Address string `json:"address"`
	Port    int    `json:"port,omitempty"`    // 0: none (null)
	SSLPort int    `json:"sslPort,omitempty"` // 0: none (null)
	// ServiceType is DYNAMIC (Curator's default: an ephemeral znode),
	// STATIC, PERMANENT or DYNAMIC_SEQUENTIAL.
	ServiceType string `json:"serviceType,omitempty"`
	// URISpec is a Curator UriSpec template, "{scheme}://{address}:{port}".
	URISpec string `json:"uriSpec,omitempty"`
	// RegistrationTimeUTC is in milliseconds; 0: the time of registering.
	RegistrationTimeUTC int64 `json:"registrationTimeUTC,omitempty"`
	Enabled             *bool `json:"enabled,omitempty"` // nil: Curator's default, true
	// Spring, when not nil, makes the payload Spring Cloud Zookeeper's
	// ZookeeperInstance with this metadata, and SpringID and SpringName
	// its id and name (default ID and Name).
	Spring     map[string]string `json:"spring,omitempty"`
	SpringID   string            `json:"springId,omitempty"`
	SpringName string            `json:"springName,omitempty"`
	// Map, when not nil and Spring is nil, makes the payload a
	// java.util.HashMap of these entries. With neither, the payload is
	// null.
	Map map[string]string `json:"map,omitempty"`
}

// SpringInstance is what Spring Cloud Zookeeper's ZookeeperDiscoveryClient
// returns for an instance: it reads with its own serializer and payload
// class, takes the SSL port when there is one (and is then secure) and the
// payload's metadata.
type SpringInstance struct {
	ServiceID   string            `json:"serviceId"`
	InstanceID  string            `json:"instanceId"`
	Host        string            `json:"host"`
	Port        int               `json:"port"`
	Secure      bool              `json:"secure"`
	URI         string            `json:"uri"`
	Metadata    map[string]string `json:"metadata"`
	PayloadID   string            `json:"payloadId"`
	PayloadName string            `json:"payloadName"`
}

// Curator is a running Java peer: one Curator client with its
// ServiceDiscovery, under a base path of one ZooKeeper. It is killed when
// the test ends. Its methods fail the test on any error; they may be
// called from one goroutine at a time, except Cache, Log and Kill, which
// are safe at any time.
type Curator struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *Output
	ready  chan struct{} // closed when the peer is connected
	// replies carries the peer's answers to the one request in flight.
	replies chan curatorReply
	exited  chan struct{} // closed when the process has exited and its output is read

	reqMu sync.Mutex // serialises requests
	seq   int        // guarded by reqMu

	mu     sync.Mutex // guards caches
	caches map[string]*curatorCache

	killOnce sync.Once
}

type curatorCache struct {
	instances []json.RawMessage
	changes   int
}

// curatorReply is the peer's answer to request Seq.
type curatorReply struct {
	Seq    int
	Result json.RawMessage
	Error  string
}

// curatorLine is one line of the peer's output: an answer (Seq set) or an
// event.
type curatorLine struct {
	Seq       *int              `json:"seq"`
	Result    json.RawMessage   `json:"result"`
	Error     string            `json:"error"`
	Event     string            `json:"event"`
	Name      string            `json:"name"`
	Instances []json.RawMessage `json:"instances"`
}

// StartCurator starts a Java peer connected to the ZooKeeper at addr and
// waits until it is connected. It fails the test when Java, javac or
// Curator's jars are missing (scripts/install-curator.sh installs them);
// under go test -short it skips it.
func StartCurator(t TB, addr string, opts ...CuratorOption) *Curator {
	t.Helper()
	skipShort(t)
	o := curatorOptions{base: DefaultCuratorBase, session: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	java, classpath := curatorClasspath(t)
	ms := strconv.Itoa(int(o.session / time.Millisecond))
	cmd := exec.Command(java,
		"-Xmx128m", "-Xms16m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
		"-Djava.net.preferIPv4Stack=true",
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-cp", classpath, "CuratorPeer", addr+o.chroot, o.base, ms)
	cmd.Env = append(os.Environ(), "CURATOR_PEER_AUTH="+o.auth)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	c := &Curator{
		cmd:     cmd,
		stderr:  &Output{},
		ready:   make(chan struct{}),
		replies: make(chan curatorReply, 1),
		exited:  make(chan struct{}),
		caches:  map[string]*curatorCache{},
	}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("zktest: curator peer: %v", err)
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("zktest: curator peer: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("zktest: start the curator peer: %v", err)
	}
	go c.read(stdout)
	t.Cleanup(c.Kill)
	select {
	case <-c.ready:
		return c
	case <-c.exited:
		t.Fatalf("zktest: the curator peer exited before it connected to %s; its log:\n%s", addr, c.Log())
	case <-time.After(curatorTimeout):
		t.Fatalf("zktest: the curator peer did not connect to %s in %v; its log:\n%s", addr, curatorTimeout, c.Log())
	}
	return nil
}

// read reads the peer's output until it exits, then waits for the
// process. It is the one goroutine of a Curator; Kill waits for it.
func (c *Curator) read(stdout io.Reader) {
	defer close(c.exited)
	defer func() { _ = c.cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l curatorLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			c.stderr.Write([]byte("zktest: unreadable line from the peer: " + sc.Text() + "\n"))
			continue
		}
		switch {
		case l.Seq != nil:
			select {
			case c.replies <- curatorReply{Seq: *l.Seq, Result: l.Result, Error: l.Error}:
			default: // an answer nobody waits for any more (its request timed out)
			}
		case l.Event == "ready":
			select {
			case <-c.ready:
			default:
				close(c.ready)
			}
		case l.Event == "cache":
			c.mu.Lock()
			cc := c.caches[l.Name]
			if cc == nil {
				cc = &curatorCache{}
				c.caches[l.Name] = cc
			}
			cc.instances = l.Instances
			cc.changes++
			c.mu.Unlock()
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
}

// call sends one request and returns its result.
func (c *Curator) call(t TB, req map[string]any) json.RawMessage {
	t.Helper()
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	c.seq++
	req["seq"] = c.seq
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("zktest: curator request: %v", err)
	}
	select { // drop an answer left by a request that timed out
	case <-c.replies:
	default:
	}
	if _, err := c.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("zktest: curator peer %s: %v; its log:\n%s", req["op"], err, c.Log())
	}
	deadline := time.After(curatorTimeout)
	for {
		select {
		case r := <-c.replies:
			if r.Seq != c.seq {
				continue
			}
			if r.Error != "" {
				t.Fatalf("zktest: curator peer %s: %s", req["op"], r.Error)
			}
			return r.Result
		case <-c.exited:
			t.Fatalf("zktest: the curator peer exited during %s; its log:\n%s", req["op"], c.Log())
		case <-deadline:
			t.Fatalf("zktest: the curator peer did not answer %s in %v; its log:\n%s", req["op"], curatorTimeout, c.Log())
		}
	}
}

func decodeResult[T any](t TB, op string, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("zktest: curator peer %s: unreadable result %s: %v", op, raw, err)
	}
	return v
}

// Register registers inst with the peer's ServiceDiscovery and returns the
// instance as Curator's serializer writes it.
func (c *Curator) Register(t TB, inst CuratorInstance) json.RawMessage {
	t.Helper()
	return c.call(t, map[string]any{"op": "register", "instance": inst})
}

// Update replaces the payload's metadata (or map) of the instance id the
// peer registered (ServiceDiscovery.updateService) and returns the instance
// as Curator's serializer writes it.
func (c *Curator) Update(t TB, id string, metadata map[string]string) json.RawMessage {
	t.Helper()
	return c.call(t, map[string]any{"op": "update", "id": id, "metadata": metadata})
}

// Unregister unregisters the instance id the peer registered.
func (c *Curator) Unregister(t TB, id string) {
	t.Helper()
	c.call(t, map[string]any{"op": "unregister", "id": id})
}

// Query returns the instances of service name (queryForInstances), each as
// Curator's serializer writes it.
func (c *Curator) Query(t TB, name string) []json.RawMessage {
	t.Helper()
	return decodeResult[[]json.RawMessage](t, "query", c.call(t, map[string]any{"op": "query", "name": name}))
}

// Spring returns what Spring Cloud Zookeeper's DiscoveryClient returns for
// service name. Like Spring's, the query fails (and so the test) when an
// instance's payload is not a ZookeeperInstance.
func (c *Curator) Spring(t TB, name string) []SpringInstance {
	t.Helper()
	return decodeResult[[]SpringInstance](t, "spring", c.call(t, map[string]any{"op": "spring", "name": name}))
}

// Names returns the names of the services under the base path
// (queryForNames).
func (c *Curator) Names(t TB) []string {
	t.Helper()
	return decodeResult[[]string](t, "names", c.call(t, map[string]any{"op": "names"}))
}

// Follow starts a ServiceCache of service name and returns its instances;
// Cache then reports what it holds after each change.
func (c *Curator) Follow(t TB, name string) []json.RawMessage {
	t.Helper()
	return decodeResult[[]json.RawMessage](t, "follow", c.call(t, map[string]any{"op": "follow", "name": name}))
}

// Cache returns the instances the ServiceCache of name held at its last
// change (each as Curator's serializer writes it) and how many changes it
// reported.
func (c *Curator) Cache(name string) (instances []json.RawMessage, changes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.caches[name]
	if cc == nil {
		return nil, 0
	}
	return cc.instances, cc.changes
}

// Exit closes the peer's caches and ServiceDiscovery (which unregisters its
// instances) and waits for it to exit.
func (c *Curator) Exit(t TB) {
	t.Helper()
	c.call(t, map[string]any{"op": "exit"})
	select {
	case <-c.exited:
	case <-time.After(curatorTimeout):
		t.Fatalf("zktest: the curator peer did not exit; its log:\n%s", c.Log())
	}
}

// Kill stops the peer with SIGKILL, as a crash would, and waits for it:
// its session, and its ephemeral instances, live on until the session
// times out. It does nothing if the peer has exited.
func (c *Curator) Kill() {
	c.killOnce.Do(func() {
		select {
		case <-c.exited:
		default:
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		}
		_ = c.stdin.Close()
		<-c.exited
	})
}

// Log returns what the peer wrote to stderr (Curator's and ZooKeeper's
// warnings, and its own errors).
func (c *Curator) Log() string { return c.stderr.String() }

// curatorPeer is the compiled peer, built once per test binary.
var curatorPeer struct {
	once      sync.Once
	java      string
	classpath string
	err       error
}

// curatorClasspath returns java and the class path of the compiled peer,
// compiling it on first use.
func curatorClasspath(t TB) (java, classpath string) {
	t.Helper()
	curatorPeer.once.Do(func() {
		curatorPeer.java, curatorPeer.classpath, curatorPeer.err = buildCuratorPeer()
	})
	if curatorPeer.err != nil {
		t.Fatalf("zktest: curator peer: %v", curatorPeer.err)
	}
	return curatorPeer.java, curatorPeer.classpath
}

// buildCuratorPeer finds Java and Curator's jars and compiles the peer
// (or reuses classes compiled from the same sources).
func buildCuratorPeer() (java, classpath string, err error) {
	const install = "run scripts/install-curator.sh (Debian/Ubuntu)"
	if java, err = exec.LookPath("java"); err != nil {
		return "", "", fmt.Errorf("java not found: %s, or install a JDK", install)
	}
	javac, err := exec.LookPath("javac")
	if err != nil {
		return "", "", fmt.Errorf("javac not found: %s, or install a JDK", install)
	}
	dir := os.Getenv(EnvCuratorJars)
	if dir == "" {
		dir = DefaultCuratorJars
	}
	var jars []string
	for _, j := range curatorJars {
		p := filepath.Join(dir, j)
		if !fileExists(p) {
			return "", "", fmt.Errorf("%s not found: %s, or set %s to a directory of Curator's jars and their dependencies", p, install, EnvCuratorJars)
		}
		jars = append(jars, p)
	}
	deps := strings.Join(jars, string(os.PathListSeparator))

	names, err := curatorSources.ReadDir("java")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", javac, deps)
	sources := map[string][]byte{}
	for _, n := range names {
		b, err := curatorSources.ReadFile("java/" + n.Name())
		if err != nil {
			return "", "", err
		}
		sources[n.Name()] = b
		fmt.Fprintf(h, "%s %d\n", n.Name(), len(b))
		h.Write(b)
	}
	classes := filepath.Join(os.TempDir(), "zktest-curator-peer-"+hex.EncodeToString(h.Sum(nil))[:16])
	// Logging through slf4j-simple, when present, lands on the peer's
	// stderr, which failures print.
	run := classes + string(os.PathListSeparator) + deps
	if simple := filepath.Join(dir, "slf4j-simple.jar"); fileExists(simple) {
		run += string(os.PathListSeparator) + simple
	}
	if fileExists(filepath.Join(classes, "CuratorPeer.class")) {
		return java, run, nil
	}

	tmp, err := os.MkdirTemp(os.TempDir(), "zktest-curator-build-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	out := filepath.Join(tmp, "classes")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", "", err
	}
	args := []string{"-nowarn", "-encoding", "UTF-8", "-d", out, "-cp", deps}
	for n, b := range sources {
		p := filepath.Join(src, n)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return "", "", err
		}
		args = append(args, p)
	}
	cmd := exec.Command(javac, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("javac: %v\n%s", err, msg)
	}
	// Another test binary may have compiled the same sources meanwhile:
	// either copy will do.
	if err := os.Rename(out, classes); err != nil && !fileExists(filepath.Join(classes, "CuratorPeer.class")) {
		return "", "", err
	}
	return java, run, nil
}
