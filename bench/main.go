// Command bench runs this plugin (github.com/zkmicro/zookeeper) and the old
// github.com/go-micro/plugins/v4/registry/zookeeper v1.2.0 side by side,
// in one run, against one 3-node ZooKeeper ensemble that it starts on
// loopback, and prints one table of medians and ratios old/ours. It then
// runs the scale checks on this plugin, and the balance rows (balance.go:
// zkbalance against go-micro's Random and RoundRobin, printed as a table
// of their own). scripts/bench.sh (make bench) runs it, and make
// bench-balance its balance rows only; it is its own module so that the
// plugin's users never download the old plugin.
//
// Every process it starts (ZooKeeper servers, watching children) is stopped
// when it ends, is interrupted, or dies.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// oldRoot is where the old plugin keeps everything; it cannot be changed.
const oldRoot = "/micro-registry"

var (
	flagJar   = flag.String("jar", envOr("ZOOKEEPER_JAR", "/usr/share/java/zookeeper.jar"), "ZooKeeper server jar")
	flagQuick = flag.Bool("quick", false, "fewer iterations (a smoke run; numbers are noisier)")
	flagScale = flag.Bool("scale", true, "run the memory row and the scale checks (10,000 nodes, session expiry)")
	flagHeap  = flag.Int("heap", 512, "heap of each ZooKeeper server, MB")
	flagOnly  = flag.String("only", "", "comma-separated rows to run: register,get,list,watch,memory,balance (default all)")
	flagCPU   = flag.String("cpuprofile", "", "write a CPU profile of the harness (both plugins' client side) to this file")
)

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// cleanups run in reverse order when the harness ends or is interrupted.
var (
	cleanupMu sync.Mutex // guards cleanups
	cleanups  []func()
)

func atExit(f func()) {
	cleanupMu.Lock()
	cleanups = append(cleanups, f)
	cleanupMu.Unlock()
}

func runCleanups() {
	cleanupMu.Lock()
	fs := cleanups
	cleanups = nil
	cleanupMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "watch-child" {
		log.SetOutput(io.Discard) // zk's own log lines
		os.Exit(watchChild(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "fleet-child" {
		log.SetOutput(io.Discard)
		flag.CommandLine.Parse(nil) //nolint:errcheck // defaults only
		os.Exit(fleetChildMain(os.Args[2:]))
	}
	flag.Parse()
	log.SetOutput(io.Discard) // zk's and the old plugin's log lines

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping everything\n", s)
		runCleanups()
		os.Exit(130)
	}()

	if *flagCPU != "" {
		f, err := os.Create(*flagCPU)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		atExit(func() { pprof.StopCPUProfile(); f.Close() })
	}
	err := run()
	runCleanups()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// b carries what every measurement needs.
type b struct {
	ens            *ensemble
	writer, reader string // client addresses: where registrations go, where reads and watches go
	raw            *zk.Conn
	quick          bool
	rows           []row
	notes          []string
	balanceRows    []balanceRow
	busyRow        string // the balance note on writes under load
}

func (x *b) iters(full, quick int) int {
	if x.quick {
		return quick
	}
	return full
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run() error {
	progress("starting a 3-node ZooKeeper ensemble (%s)", *flagJar)
	start := time.Now()
	ens, err := startEnsemble(3, *flagJar, *flagHeap)
	if err != nil {
		return err
	}
	atExit(ens.stop)
	progress("ensemble up in %v: %s", time.Since(start).Round(time.Millisecond), ens.describe())

	x := &b{ens: ens, quick: *flagQuick}
	// Registrations go to one follower, reads and watches to the other, for
	// both plugins: each write is a quorum write, each watch event crosses
	// from one server to another.
	var followers []string
	for _, s := range ens.Servers {
		if m, _ := s.Mode(); m == "follower" {
			followers = append(followers, s.Addr)
		}
	}
	if len(followers) < 2 {
		followers = []string{ens.Servers[0].Addr, ens.Servers[1].Addr}
	}
	x.writer, x.reader = followers[0], followers[1]
	if x.raw, err = rawConn(x.reader); err != nil {
		return err
	}
	atExit(x.raw.Close)

	want := map[string]bool{}
	for _, o := range strings.Split(*flagOnly, ",") {
		if o != "" {
			want[o] = true
		}
	}
	all := len(want) == 0

	if *flagFleet {
		return runFleet(x)
	}
	if all || len(want) > 1 || !want["balance"] {
		// The old/ours rows only: the balance rows use neither.
		x.warmUp()
		x.floor()
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"register", x.register},
		{"get", x.getService},
		{"list", x.listServices},
		{"watch", x.watchLatency},
		{"memory", x.memoryAndScale},
		{"balance", x.balance},
	}
	for _, s := range steps {
		if !all && !want[s.name] {
			continue
		}
		if s.name == "memory" && !*flagScale {
			continue
		}
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	x.print()
	return nil
}

// rawConn opens a plain zk session on addr.
func rawConn(addr string) (*zk.Conn, error) {
	c, ev, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		return nil, err
	}
	deadline := time.After(30 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-deadline:
			c.Close()
			return nil, fmt.Errorf("no session with %s", addr)
		}
	}
	go func() {
		for range ev {
		}
	}()
	return c, nil
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// ---- the table ----

// row is one line of the table. Durations are in nanoseconds, memory in
// bytes.
type row struct {
	name       string
	old, ours  float64
	memory     bool
	target     float64 // minimum old/ours ratio; 0: none
	targetText string
	n          string // samples
}

func (x *b) add(r row) {
	x.rows = append(x.rows, r)
	progress("%-40s old %-10s ours %-10s old/ours %s", r.name, format(r.old, r.memory), format(r.ours, r.memory), ratio(r))
}

func (x *b) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	x.notes = append(x.notes, s)
	progress("%s", s)
}

func format(v float64, memory bool) string {
	if memory {
		return fmt.Sprintf("%.1f MB", v/(1<<20))
	}
	d := time.Duration(v)
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	}
}

func ratio(r row) string {
	if r.ours <= 0 || r.old <= 0 {
		return "-"
	}
	q := r.old / r.ours
	switch {
	case q >= 100:
		return fmt.Sprintf("%.0f×", q)
	case q >= 10:
		return fmt.Sprintf("%.1f×", q)
	default:
		return fmt.Sprintf("%.2f×", q)
	}
}

func (x *b) print() {
	var out strings.Builder
	fmt.Fprintf(&out, "\n%s\n\n", header(x.ens))
	if len(x.balanceRows) > 0 {
		x.printBalance(&out)
		out.WriteString("\n")
		if len(x.rows) == 0 {
			fmt.Print(out.String())
			return
		}
	}
	fmt.Fprintf(&out, "| Measure (median) | old v1.2.0 | ours | old/ours | target | met | samples |\n")
	fmt.Fprintf(&out, "|---|---:|---:|---:|---:|:---:|---:|\n")
	for _, r := range x.rows {
		met := ""
		if r.target > 0 {
			met = "no"
			if r.ours > 0 && r.old/r.ours >= r.target {
				met = "yes"
			}
		}
		fmt.Fprintf(&out, "| %s | %s | %s | %s | %s | %s | %s |\n",
			r.name, format(r.old, r.memory), format(r.ours, r.memory), ratio(r), r.targetText, met, r.n)
	}
	out.WriteString("\n")
	for _, n := range append(methodNotes(x), x.notes...) {
		fmt.Fprintf(&out, "- %s\n", n)
	}
	fmt.Print(out.String())
}

// methodNotes says how the rows were measured.
func methodNotes(x *b) []string {
	return []string{
		fmt.Sprintf("Clients: registrations go to the follower %s, reads and watches to the follower %s, for both plugins. Old and ours alternate iteration by iteration.", x.writer, x.reader),
		"Cold: the first lookup of the service by a registry that is connected (a new one per sample). Warm: the same registry again. The old plugin keeps nothing between calls: its cold and warm rows are the same call, measured twice.",
		"ListServices: the old plugin reads every node but returns names only; ours returns every service with its nodes.",
		"Watch latency: from the call of Register on one client to Next returning the new node on another (it includes the quorum write, the same for both); propagation: from Register returning to Next returning.",
		"Memory: RSS of a process that watches all services, 2 s after its watcher reported the 10,000 nodes. Ours started before they were registered and received them as events; the old plugin's watcher does not see services created after it starts, so it started after.",
	}
}

func header(e *ensemble) string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimLeft(v, " \t:"))
				break
			}
		}
		f.Close()
	}
	version := "?"
	if out, err := zktest.FourLetter(e.Servers[0].Addr, "srvr"); err == nil {
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "Zookeeper version: "); ok {
				version, _, _ = strings.Cut(v, ",")
				version = strings.TrimSpace(version)
			}
		}
	}
	if i := strings.Index(version, "-${"); i >= 0 {
		version = version[:i] // Debian's build leaves a placeholder
	}
	return fmt.Sprintf("%s · %s, %d CPUs · %s %s/%s · ZooKeeper %s, 3-node ensemble on loopback (%s) · load average before the run %s",
		time.Now().Format("2006-01-02"), cpu, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		version, e.describe(), loadBefore)
}

// loadBefore is the load average when the harness started: the table is
// only as good as the machine was quiet.
var loadBefore = loadAverage()

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ---- helpers ----

type samples []time.Duration

func (s samples) median() float64 {
	if len(s) == 0 {
		return 0
	}
	c := append(samples(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	if len(c)%2 == 1 {
		return float64(c[len(c)/2])
	}
	return float64(c[len(c)/2-1]+c[len(c)/2]) / 2
}

func timed(f func() error) (time.Duration, error) {
	t := time.Now()
	err := f()
	return time.Since(t), err
}

// registerAll registers every service with up to par calls in flight,
// retrying each a few times (the old plugin fails when two registries
// create the same parent at once).
func registerAll(r registry.Registry, svcs []*registry.Service, par int) error {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, s := range svcs {
		wg.Add(1)
		sem <- struct{}{}
		go func(s *registry.Service) {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			for attempt := 0; attempt < 5; attempt++ {
				if err = r.Register(s); err == nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			mu.Lock()
			if first == nil {
				first = fmt.Errorf("register %s: %w", s.Name, err)
			}
			mu.Unlock()
		}(s)
	}
	wg.Wait()
	return first
}

// clearOld deletes everything under the old plugin's root.
func (x *b) clearOld() error {
	dirs, _, err := x.raw.Children(oldRoot)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	var paths []string
	for _, d := range dirs {
		children, _, err := x.raw.Children(oldRoot + "/" + d)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		for _, c := range children {
			paths = append(paths, oldRoot+"/"+d+"/"+c)
		}
	}
	parallel(len(paths), 32, func(i int) { _ = x.raw.Delete(paths[i], -1) })
	parallel(len(dirs), 32, func(i int) { _ = x.raw.Delete(oldRoot+"/"+dirs[i], -1) })
	return nil
}

func parallel(n, par int, fn func(i int)) {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}(i)
	}
	wg.Wait()
}

// ---- measurements ----

// floor measures what ZooKeeper itself costs here, with a raw zk
// connection: the limits anything that goes to the server sits above.
func (x *b) floor() {
	c := x.raw
	p := "/bench-floor"
	_, _ = c.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
	var reads, writes samples
	for i := 0; i < x.iters(300, 50); i++ {
		d, _ := timed(func() error { _, _, err := c.Get(p); return err })
		reads = append(reads, d)
	}
	for i := 0; i < x.iters(100, 20); i++ {
		d, _ := timed(func() error {
			_, err := c.Create(fmt.Sprintf("%s/n%d", p, i), []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
			return err
		})
		writes = append(writes, d)
	}
	var batch samples
	paths := make([]string, 100)
	for i := range paths {
		paths[i] = fmt.Sprintf("%s/n%d", p, i%len(writes))
	}
	for i := 0; i < x.iters(30, 5); i++ {
		d, _ := timed(func() error {
			parallel(len(paths), 64, func(i int) { _, _, _ = c.Get(paths[i]) })
			return nil
		})
		batch = append(batch, d)
	}
	x.note("Floor (raw zk, one session, reader's server): read round trip %s; 100 reads in flight at once %s; quorum write (ephemeral create) %s",
		format(reads.median(), false), format(batch.median(), false), format(writes.median(), false))
}

// warmUp runs both plugins' hot paths for a while, so that neither pays
// the servers' or its own first-call costs in the table.
func (x *b) warmUp() {
	progress("warming up")
	ours := openOurs(x.writer, "/bench-warmup")
	defer closeRegistry(ours)
	old, err := openOld(x.writer)
	if err != nil {
		return
	}
	defer closeRegistry(old)
	s := benchService("bench.warmup", ids("w", 50)...)
	_ = ours.Register(s)
	_ = old.Register(s)
	for i := 0; i < x.iters(30, 5); i++ {
		_, _ = ours.GetService("bench.warmup")
		_, _ = old.GetService("bench.warmup")
		_, _ = ours.ListServices()
		_, _ = old.ListServices()
	}
	_ = ours.Deregister(s)
	_ = old.Deregister(s)
	_ = x.clearOld()
}

// register: Register of a new node, in an existing service.
func (x *b) register() error {
	progress("Register (new node)")
	ours := openOurs(x.writer, "/bench-register")
	defer closeRegistry(ours)
	old, err := openOld(x.writer)
	if err != nil {
		return err
	}
	defer closeRegistry(old)
	// The service exists before the timed calls, for both.
	if err := ours.Register(benchService("bench.register", "ours-first")); err != nil {
		return err
	}
	if err := old.Register(benchService("bench.register", "old-first")); err != nil {
		return err
	}
	var so, sn samples
	n := x.iters(200, 30)
	for i := 0; i < n; i++ {
		d, err := timed(func() error { return old.Register(benchService("bench.register", fmt.Sprintf("old-%d", i))) })
		if err != nil {
			return err
		}
		so = append(so, d)
		d, err = timed(func() error { return ours.Register(benchService("bench.register", fmt.Sprintf("ours-%d", i))) })
		if err != nil {
			return err
		}
		sn = append(sn, d)
	}
	x.add(row{name: "Register (new node)", old: so.median(), ours: sn.median(), target: 1, targetText: "≥ 1×", n: strconv.Itoa(n)})
	return x.clearOld()
}

// getService: GetService of a service with 1, 10 and 100 nodes; cold is
// the first lookup of the service by a process (connected), warm a repeated
// one. The old plugin has no cache: its cold and warm rows are the same
// call, measured separately.
func (x *b) getService() error {
	sizes := []int{1, 10, 100}
	writer := openOurs(x.writer, "/bench-get")
	defer closeRegistry(writer)
	oldW, err := openOld(x.writer)
	if err != nil {
		return err
	}
	defer closeRegistry(oldW)
	for _, n := range sizes {
		name := fmt.Sprintf("bench.get.%d", n)
		if err := writer.Register(benchService(name, ids("n", n)...)); err != nil {
			return err
		}
		if err := oldW.Register(benchService(name, ids("n", n)...)); err != nil {
			return err
		}
	}
	old, err := openOld(x.reader)
	if err != nil {
		return err
	}
	defer closeRegistry(old)

	check := func(svcs []*registry.Service, err error, n int) error {
		if err != nil {
			return err
		}
		if got := countNodes(svcs); got != n {
			return fmt.Errorf("got %d nodes, want %d", got, n)
		}
		return nil
	}

	for _, n := range sizes {
		name := fmt.Sprintf("bench.get.%d", n)
		progress("GetService cold, %d nodes", n)
		var so, sn samples
		iters := x.iters(30, 5)
		for i := 0; i < iters; i++ {
			d, err := timed(func() error { s, err := old.GetService(name); return check(s, err, n) })
			if err != nil {
				return fmt.Errorf("old: %w", err)
			}
			so = append(so, d)

			r := openOurs(x.reader, "/bench-get")
			if _, err := r.GetService("bench.none"); !errors.Is(err, registry.ErrNotFound) {
				closeRegistry(r)
				return fmt.Errorf("ours: connecting: %v", err)
			}
			d, err = timed(func() error { s, err := r.GetService(name); return check(s, err, n) })
			closeRegistry(r)
			if err != nil {
				return fmt.Errorf("ours: %w", err)
			}
			sn = append(sn, d)
		}
		target, text := 0.0, ""
		if n == 100 {
			target, text = 4, "≥ 4×"
		}
		x.add(row{name: fmt.Sprintf("GetService cold, %d node%s", n, plural(n)), old: so.median(), ours: sn.median(),
			target: target, targetText: text, n: strconv.Itoa(iters)})
	}

	ours := openOurs(x.reader, "/bench-get")
	defer closeRegistry(ours)
	for _, n := range sizes {
		name := fmt.Sprintf("bench.get.%d", n)
		progress("GetService warm, %d nodes", n)
		if s, err := ours.GetService(name); check(s, err, n) != nil {
			return fmt.Errorf("ours: %v", check(s, err, n))
		}
		var so, sn samples
		oi, ni := x.iters(30, 5), x.iters(5000, 500)
		for i := 0; i < oi; i++ {
			d, err := timed(func() error { s, err := old.GetService(name); return check(s, err, n) })
			if err != nil {
				return fmt.Errorf("old: %w", err)
			}
			so = append(so, d)
		}
		for i := 0; i < ni; i++ {
			d, err := timed(func() error { s, err := ours.GetService(name); return check(s, err, n) })
			if err != nil {
				return fmt.Errorf("ours: %w", err)
			}
			sn = append(sn, d)
		}
		target, text := 0.0, ""
		if n == 100 {
			target, text = 1000, "≥ 1000×"
		}
		x.add(row{name: fmt.Sprintf("GetService warm, %d node%s", n, plural(n)), old: so.median(), ours: sn.median(),
			target: target, targetText: text, n: fmt.Sprintf("%d / %d", oi, ni)})
	}
	return x.clearOld()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// listServices: ListServices over 200 services × 3 nodes. The old plugin
// reads every node but returns names only.
func (x *b) listServices() error {
	const services, per = 200, 3
	progress("ListServices: registering %d services × %d nodes for each plugin", services, per)
	if err := x.clearOld(); err != nil {
		return err
	}
	var svcs []*registry.Service
	for i := 0; i < services; i++ {
		svcs = append(svcs, benchService(fmt.Sprintf("bench.list.%03d", i), ids("n", per)...))
	}
	writer := openOurs(x.writer, "/bench-list")
	defer closeRegistry(writer)
	if err := registerAll(writer, svcs, 16); err != nil {
		return err
	}
	oldW, err := openOld(x.writer)
	if err != nil {
		return err
	}
	defer closeRegistry(oldW)
	if err := registerAll(oldW, svcs, 1); err != nil {
		return err
	}
	old, err := openOld(x.reader)
	if err != nil {
		return err
	}
	defer closeRegistry(old)

	checkOld := func(s []*registry.Service, err error) error {
		if err != nil {
			return err
		}
		if len(s) != services {
			return fmt.Errorf("got %d services, want %d", len(s), services)
		}
		return nil
	}
	checkOurs := func(s []*registry.Service, err error) error {
		if err != nil {
			return err
		}
		if len(s) != services || countNodes(s) != services*per {
			return fmt.Errorf("got %d services, %d nodes; want %d, %d", len(s), countNodes(s), services, services*per)
		}
		return nil
	}

	progress("ListServices cold")
	var so, sn samples
	iters := x.iters(15, 3)
	for i := 0; i < iters; i++ {
		d, err := timed(func() error { return checkOld(old.ListServices()) })
		if err != nil {
			return fmt.Errorf("old: %w", err)
		}
		so = append(so, d)
		r := openOurs(x.reader, "/bench-list")
		if _, err := r.GetService("bench.none"); !errors.Is(err, registry.ErrNotFound) {
			closeRegistry(r)
			return fmt.Errorf("ours: connecting: %v", err)
		}
		d, err = timed(func() error { return checkOurs(r.ListServices()) })
		closeRegistry(r)
		if err != nil {
			return fmt.Errorf("ours: %w", err)
		}
		sn = append(sn, d)
	}
	x.add(row{name: fmt.Sprintf("ListServices cold, %d × %d", services, per), old: so.median(), ours: sn.median(),
		target: 5, targetText: "≥ 5×", n: strconv.Itoa(iters)})

	progress("ListServices warm")
	ours := openOurs(x.reader, "/bench-list")
	defer closeRegistry(ours)
	if err := checkOurs(ours.ListServices()); err != nil {
		return fmt.Errorf("ours: %w", err)
	}
	so, sn = nil, nil
	oi, ni := x.iters(10, 3), x.iters(2000, 200)
	for i := 0; i < oi; i++ {
		d, err := timed(func() error { return checkOld(old.ListServices()) })
		if err != nil {
			return fmt.Errorf("old: %w", err)
		}
		so = append(so, d)
	}
	for i := 0; i < ni; i++ {
		d, err := timed(func() error { return checkOurs(ours.ListServices()) })
		if err != nil {
			return fmt.Errorf("ours: %w", err)
		}
		sn = append(sn, d)
	}
	x.add(row{name: fmt.Sprintf("ListServices warm, %d × %d", services, per), old: so.median(), ours: sn.median(),
		target: 1000, targetText: "≥ 1000×", n: fmt.Sprintf("%d / %d", oi, ni)})
	return x.clearOld()
}

// pumped is a watch result and when Next returned it.
type pumped struct {
	r  *registry.Result
	at time.Time
}

// pump calls Next until the watcher stops, stamping each result.
func pump(w registry.Watcher) <-chan pumped {
	ch := make(chan pumped, 1<<16)
	go func() {
		defer close(ch)
		for {
			r, err := w.Next()
			if err != nil {
				if isStopped(err) {
					return
				}
				continue
			}
			ch <- pumped{r, time.Now()}
		}
	}()
	return ch
}

func isStopped(err error) bool {
	return errors.Is(err, registry.ErrWatcherStopped) || strings.Contains(err.Error(), "watcher stopped")
}

// drain consumes results until none came for quiet.
func drain(ch <-chan pumped, quiet time.Duration) {
	t := time.NewTimer(quiet)
	defer t.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
			t.Reset(quiet)
		case <-t.C:
			return
		}
	}
}

// awaitCreate waits for a "create" of node id and returns when it came.
func awaitCreate(ch <-chan pumped, id string, limit time.Duration) (time.Time, error) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		select {
		case p, ok := <-ch:
			if !ok {
				return time.Time{}, errors.New("watcher stopped")
			}
			if p.r != nil && p.r.Action == "create" && hasNode(p.r.Service, id) {
				return p.at, nil
			}
		case <-t.C:
			return time.Time{}, fmt.Errorf("no create of %s within %v", id, limit)
		}
	}
}

// watchLatency: from the start of Register on one client to the watcher's
// Next returning the new node on another, with 1 and 100 nodes in the
// service.
func (x *b) watchLatency() error {
	for _, n := range []int{1, 100} {
		progress("watch latency, %d nodes", n)
		name := fmt.Sprintf("bench.watch.%d", n)
		existing := benchService(name, ids("n", n-1)...)

		// Ours.
		writer := openOurs(x.writer, "/bench-watch")
		watcherReg := openOurs(x.reader, "/bench-watch")
		if n > 1 {
			if err := writer.Register(existing); err != nil {
				return err
			}
		}
		w, err := watcherReg.Watch(registry.WatchService(name))
		if err != nil {
			return err
		}
		oursCh := pump(w)

		// Old: its watcher needs the service directory to exist.
		if err := x.clearOld(); err != nil {
			return err
		}
		oldWriter, err := openOld(x.writer)
		if err != nil {
			return err
		}
		if n > 1 {
			if err := oldWriter.Register(existing); err != nil {
				return err
			}
		} else {
			seed := benchService(name, "seed")
			if err := oldWriter.Register(seed); err != nil {
				return err
			}
			if err := oldWriter.Deregister(seed); err != nil {
				return err
			}
		}
		oldWatcherReg, err := openOld(x.reader)
		if err != nil {
			return err
		}
		ow, err := oldWatcherReg.Watch(registry.WatchService(name))
		if err != nil {
			return err
		}
		oldCh := pump(ow)
		drain(oldCh, 500*time.Millisecond)
		drain(oursCh, 100*time.Millisecond)

		var so, sn, po, pn samples
		iters := x.iters(40, 8)
		for i := 0; i < iters; i++ {
			for _, side := range []struct {
				reg       registry.Registry
				ch        <-chan pumped
				out, prop *samples
				tag       string
			}{{oldWriter, oldCh, &so, &po, "old"}, {writer, oursCh, &sn, &pn, "ours"}} {
				id := fmt.Sprintf("%s-lat-%d", side.tag, i)
				s := benchService(name, id)
				drain(side.ch, 100*time.Millisecond)
				t0 := time.Now()
				if err := side.reg.Register(s); err != nil {
					return fmt.Errorf("%s: %w", side.tag, err)
				}
				t1 := time.Now()
				at, err := awaitCreate(side.ch, id, 10*time.Second)
				if err != nil {
					return fmt.Errorf("%s: %w", side.tag, err)
				}
				*side.out = append(*side.out, at.Sub(t0))
				*side.prop = append(*side.prop, at.Sub(t1))
				if err := side.reg.Deregister(s); err != nil {
					return fmt.Errorf("%s: %w", side.tag, err)
				}
			}
		}
		w.Stop()
		ow.Stop()
		closeRegistry(watcherReg)
		closeRegistry(writer)
		closeRegistry(oldWatcherReg)
		closeRegistry(oldWriter)
		target, text := 0.0, ""
		if n == 100 {
			target, text = 10, "≥ 10×"
		}
		x.add(row{name: fmt.Sprintf("Watch latency, %d node%s in service (Register called → Next)", n, plural(n)), old: so.median(), ours: sn.median(),
			target: target, targetText: text, n: strconv.Itoa(iters)})
		x.add(row{name: fmt.Sprintf("Watch propagation, %d node%s (Register returned → Next)", n, plural(n)), old: po.median(), ours: pn.median(),
			n: strconv.Itoa(iters)})
	}
	return x.clearOld()
}

// ---- memory and scale ----

// watcherChild is a running "watch-child" process.
type watcherChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startWatcher(impl, addr, prefix string, services, per int) (*watcherChild, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "watch-child", impl, addr, prefix, strconv.Itoa(services), strconv.Itoa(per))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &watcherChild{cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	atExit(c.stop)
	if _, err := c.expect("READY", 60*time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// expect waits for a line starting with prefix and returns the rest.
func (c *watcherChild) expect(prefix string, d time.Duration) (string, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return "", fmt.Errorf("watcher process exited before %s", prefix)
			}
			if strings.HasPrefix(l, "ERROR") {
				return "", fmt.Errorf("watcher process: %s", l)
			}
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		case <-t.C:
			return "", fmt.Errorf("watcher process: no %s within %v", prefix, d)
		}
	}
}

// count asks the child for its watcher's live set and its ListServices.
func (c *watcherChild) count() (watcher, list int, err error) {
	if _, err := io.WriteString(c.stdin, "count\n"); err != nil {
		return 0, 0, err
	}
	s, err := c.expect("COUNT", 30*time.Second)
	if err != nil {
		return 0, 0, err
	}
	_, err = fmt.Sscanf(s, "%d %d", &watcher, &list)
	return watcher, list, err
}

// rss returns the child's resident set and its peak, in bytes.
func (c *watcherChild) rss() (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb * 1024
		case "VmHWM:":
			peak = kb * 1024
		}
	}
	return rss, peak, nil
}

func (c *watcherChild) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// memoryAndScale: 10,000 nodes over 1,000 services registered from 10
// registries; a process watching all of them (its RSS is the memory row);
// then a session expiry of one registry owning 1,000 nodes.
func (x *b) memoryAndScale() error {
	const services, per = 1000, 10
	prefix := "/bench-scale"

	// Ours: the watcher starts first, on nothing, and must converge on
	// what 10 registries register meanwhile.
	progress("scale: starting a watch-all process, then registering %d nodes over %d services from %d registries", services*per, services, per)
	child, err := startWatcher("ours", x.reader, prefix, services, per)
	if err != nil {
		return err
	}
	defer child.stop()

	proxy, err := faultproxy.New(x.writer)
	if err != nil {
		return err
	}
	atExit(func() { _ = proxy.Close() })
	defer proxy.Close()
	expiryLog := &captureLogger{}
	regs := make([]registry.Registry, per)
	for k := range regs {
		if k == 0 {
			regs[k] = openOurs(proxy.Addr, prefix, zookeeper.SessionTimeout(2*time.Second), registry.Logger(expiryLog))
		} else {
			regs[k] = openOurs(x.ens.Servers[k%3].Addr, prefix)
		}
		defer closeRegistry(regs[k])
	}
	start := time.Now()
	if err := registerEach(regs, services); err != nil {
		return err
	}
	regTime := time.Since(start)
	if _, err := child.expect("CONVERGED", 120*time.Second); err != nil {
		return err
	}
	converged := time.Since(start)
	time.Sleep(2 * time.Second) // let the child settle before reading its RSS
	oursRSS, oursPeak, err := child.rss()
	if err != nil {
		return err
	}
	wc, lc, err := child.count()
	if err != nil {
		return err
	}
	if wc != services*per || lc != services*per {
		return fmt.Errorf("ours: watcher has %d nodes, ListServices %d; want %d", wc, lc, services*per)
	}
	x.note("Scale (ours): %d nodes over %d services registered from %d registries in %v; a watch-all process (started before) converged to all of them %v after the first Register; its RSS %s (peak %s): %s",
		services*per, services, per, regTime.Round(time.Millisecond), converged.Round(time.Millisecond),
		format(oursRSS, true), format(oursPeak, true), verdict(oursPeak < 100<<20, "under 100 MB"))

	if err := x.expiry(proxy, regs[0], expiryLog, prefix, services, child); err != nil {
		return err
	}

	// Old: its watch-all does not see services created after it started,
	// so it starts after the registrations.
	progress("scale (old): registering %d nodes over %d services from %d registries", services*per, services, per)
	if err := x.clearOld(); err != nil {
		return err
	}
	olds := make([]registry.Registry, per)
	for k := range olds {
		if olds[k], err = openOld(x.ens.Servers[k%3].Addr); err != nil {
			return err
		}
		defer closeRegistry(olds[k])
	}
	start = time.Now()
	if err := registerEach(olds, services); err != nil {
		return err
	}
	oldRegTime := time.Since(start)
	start = time.Now()
	oldChild, err := startWatcher("old", x.reader, oldRoot, services, per)
	if err != nil {
		return err
	}
	defer oldChild.stop()
	if _, err := oldChild.expect("CONVERGED", 300*time.Second); err != nil {
		return err
	}
	oldConverged := time.Since(start)
	time.Sleep(2 * time.Second)
	oldRSS, oldPeak, err := oldChild.rss()
	if err != nil {
		return err
	}
	x.note("Scale (old): registering the same %d nodes from %d registries took %v; its watch-all process, started after, reported all of them in %v; RSS %s (peak %s)",
		services*per, per, oldRegTime.Round(time.Millisecond), oldConverged.Round(time.Millisecond), format(oldRSS, true), format(oldPeak, true))
	x.add(row{name: fmt.Sprintf("Memory (RSS) of a process watching %d × %d", services, per), old: oldRSS, ours: oursRSS, memory: true, n: "1"})
	oldChild.stop()
	return x.clearOld()
}

func verdict(ok bool, what string) string {
	if ok {
		return "met (" + what + ")"
	}
	return "NOT met (" + what + ")"
}

// expiry black-holes the connection of reg, which owns one node in each
// service, until ZooKeeper expires its session, heals it, and measures how
// long the registry takes to restore every node.
func (x *b) expiry(proxy *faultproxy.Proxy, reg registry.Registry, lg *captureLogger, prefix string, services int, child *watcherChild) error {
	progress("scale: session expiry of a registry owning %d nodes", services)
	paths := make([]string, services)
	for i := range paths {
		paths[i] = prefix + "/" + scaleService(i) + "/node-0"
	}
	if ok, _, err := x.raw.Exists(paths[0]); err != nil || !ok {
		return fmt.Errorf("expiry: %s is not there before the partition (%v)", paths[0], err)
	}
	partitioned := time.Now()
	proxy.Partition()
	// ZooKeeper deletes all of a session's ephemeral nodes at once when it
	// expires it.
	for {
		ok, _, err := x.raw.Exists(paths[0])
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if time.Since(partitioned) > 60*time.Second {
			return errors.New("expiry: the session did not expire within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	expiredAfter := time.Since(partitioned)
	// Watch every path for its creation.
	created := make([]time.Time, services)
	var wg sync.WaitGroup
	var armErr error
	var mu sync.Mutex
	parallel(services, 64, func(i int) {
		ok, _, ev, err := x.raw.ExistsW(paths[i])
		if err != nil || ok {
			mu.Lock()
			armErr = fmt.Errorf("expiry: %s: exists=%v err=%v", paths[i], ok, err)
			mu.Unlock()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case e := <-ev:
				if e.Type == zk.EventNodeCreated {
					created[i] = time.Now()
				}
			case <-time.After(60 * time.Second):
			}
		}()
	})
	if armErr != nil {
		return armErr
	}
	healed := time.Now()
	proxy.Heal()
	wg.Wait()
	var first, last time.Time
	for i, t := range created {
		if t.IsZero() {
			return fmt.Errorf("expiry: %s not restored within 60 s", paths[i])
		}
		if t.After(last) {
			last = t
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	newSession, ok := lg.first("expired; new session", healed)
	if !ok {
		return errors.New("expiry: the registry did not log its new session")
	}
	restore := last.Sub(newSession)
	// The watching process sees the nodes go and come back.
	deadline := time.Now().Add(60 * time.Second)
	for {
		wc, lc, err := child.count()
		if err != nil {
			return err
		}
		if wc == services*10 && lc == services*10 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("expiry: the watching process has %d nodes (ListServices %d) after restore, want %d", wc, lc, services*10)
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.note("Session expiry (ours): ZooKeeper expired the session %v after the partition; the first node was back %v and all %d %v after the new session was established (%v after the network healed): %s; the watching process converged back to all %d nodes",
		expiredAfter.Round(time.Millisecond), first.Sub(newSession).Round(time.Millisecond), services, restore.Round(time.Millisecond), last.Sub(healed).Round(time.Millisecond),
		verdict(restore < 2*time.Second, "under 2 s"), services*10)
	return nil
}

// scaleService names the i-th service of the scale check.
func scaleService(i int) string { return fmt.Sprintf("scale.%04d", i) }

// registerEach has every registry of regs, in parallel, register one node
// ("node-<k>" for the k-th registry) in each of the scale check's first
// services services.
func registerEach(regs []registry.Registry, services int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(regs))
	for k := range regs {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			var svcs []*registry.Service
			for i := 0; i < services; i++ {
				svcs = append(svcs, benchService(scaleService(i), fmt.Sprintf("node-%d", k)))
			}
			errs[k] = registerAll(regs[k], svcs, 8)
		}(k)
	}
	wg.Wait()
	return errors.Join(errs...)
}
