package main

// The fleet benchmark (issue 24; `make scale`): a fleet of 10,000 services
// × 10 nodes (100,000 ephemeral znodes), registered from 10 registries on
// a 3-node loopback ensemble, and a fresh process that watches all of it.
// It prints, in one run:
//
//   - the watching process's time to be in sync (Watch of every service
//     returning, its starting point read), beside the floor: a plain
//     go-zookeeper client reading the same znodes (children and data, with
//     as many reads in flight as helps) in a process of its own;
//   - its RSS and Go heap once in sync;
//   - a warm GetService of a 10-node service in that process, beside the
//     same in a process whose registry holds one service;
//   - a warm ListServices of everything, beside one deep copy of its
//     result (the conversion every call makes).
//
// The children are this binary, run as
//
//	bench fleet-child watch <addr> <prefix> <services> <per>
//	bench fleet-child small <addr> <prefix>
//	bench fleet-child raw <addr> <prefix> <inflight>
//
// each printing one JSON line of figures.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/registry"
)

var (
	flagFleet         = flag.Bool("fleet", false, "run the fleet benchmark only (100,000 nodes; make scale)")
	flagFleetServices = flag.Int("fleet_services", 10000, "services of the fleet benchmark")
	flagFleetPer      = flag.Int("fleet_per", 10, "nodes per service (one per registry) of the fleet benchmark")
)

// fleetPrefix is the fleet's prefix; smallPrefix the small registry's.
const (
	fleetPrefix = "/fleet"
	smallPrefix = "/small"
)

// fleetFigures is what a watching child reports.
type fleetFigures struct {
	Nodes        int     `json:"nodes"`         // nodes its ListServices returned
	SyncSeconds  float64 `json:"sync_s"`        // Watch of every service, from the first call
	RSS          float64 `json:"rss"`           // bytes, once in sync and after a GC
	PeakRSS      float64 `json:"peak_rss"`      // bytes, the most it held (VmHWM)
	HeapInUse    float64 `json:"heap_inuse"`    // bytes
	GetNanos     float64 `json:"get_ns"`        // a warm GetService of a 10-node service
	ListNanos    float64 `json:"list_ns"`       // a warm ListServices of everything, median
	CopyNanos    float64 `json:"copy_ns"`       // one deep copy of that result, median
	RawSeconds   float64 `json:"raw_s"`         // the raw client's read of everything
	RawInflight  int     `json:"raw_inflight"`  // its reads in flight
	RawZnodeRead int     `json:"raw_znodes"`    // znodes it read
	Err          string  `json:"err,omitempty"` // why it failed
}

// runFleet is the fleet benchmark.
func runFleet(x *b) error {
	services, per := *flagFleetServices, *flagFleetPer
	progress("fleet: registering %d nodes over %d services from %d registries", services*per, services, per)
	start := time.Now()
	regs := make([]registry.Registry, per)
	for i := range regs {
		regs[i] = openOurs(x.writer, fleetPrefix)
		atExit(func() { closeRegistry(regs[i]) })
	}
	var failed atomic.Value
	var wg sync.WaitGroup
	for i, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range services {
				name := fmt.Sprintf("svc-%05d", s)
				svc := benchService(name, fmt.Sprintf("%s-%02d", name, i))
				svc.Nodes[0].Address = fmt.Sprintf("10.%d.%d.%d:8080", i, s/250, s%250)
				if err := r.Register(svc); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return fmt.Errorf("register the fleet: %w", err)
	}
	small := openOurs(x.writer, smallPrefix)
	atExit(func() { closeRegistry(small) })
	if err := small.Register(benchService("svc-small", ids("small", per)...)); err != nil {
		return err
	}
	progress("fleet: registered in %v", time.Since(start).Round(time.Millisecond))

	raw, err := fleetChild("raw", x.reader, fleetPrefix, "0")
	if err != nil {
		return err
	}
	progress("fleet: raw client floor %.2f s (%d znodes, %d in flight)", raw.RawSeconds, raw.RawZnodeRead, raw.RawInflight)
	ours, err := fleetChild("watch", x.reader, fleetPrefix, strconv.Itoa(services), strconv.Itoa(per))
	if err != nil {
		return err
	}
	smallFig, err := fleetChild("small", x.reader, smallPrefix)
	if err != nil {
		return err
	}

	fmt.Printf("\nFleet: %d services × %d nodes = %d nodes, registered from %d registries in %v; ensemble %s\n",
		services, per, services*per, per, time.Since(start).Round(time.Second), x.ens.describe())
	fmt.Printf("| %-58s | %12s | %12s | %6s |\n", "What", "Ours", "Reference", "Ratio")
	fmt.Printf("|%s|%s|%s|%s|\n", strings.Repeat("-", 60), strings.Repeat("-", 14), strings.Repeat("-", 14), strings.Repeat("-", 8))
	row := func(what, ours, ref string, ratio float64) {
		fmt.Printf("| %-58s | %12s | %12s | %6.2f |\n", what, ours, ref, ratio)
	}
	row("In sync: Watch() of everything (vs raw client reading it)", fmt.Sprintf("%.2f s", ours.SyncSeconds), fmt.Sprintf("%.2f s", raw.RawSeconds), ours.SyncSeconds/raw.RawSeconds)
	row("RSS once in sync (Go heap in use)", fmt.Sprintf("%.0f MB", ours.RSS/(1<<20)), fmt.Sprintf("%.0f MB heap", ours.HeapInUse/(1<<20)), 0)
	row("Peak RSS while getting in sync (VmHWM)", fmt.Sprintf("%.0f MB", ours.PeakRSS/(1<<20)), "", 0)
	row("Warm GetService, 10 nodes (vs a registry of one service)", fmt.Sprintf("%.1f µs", ours.GetNanos/1e3), fmt.Sprintf("%.1f µs", smallFig.GetNanos/1e3), ours.GetNanos/smallFig.GetNanos)
	row("Warm ListServices of everything (vs one copy of it)", fmt.Sprintf("%.0f ms", ours.ListNanos/1e6), fmt.Sprintf("%.0f ms", ours.CopyNanos/1e6), ours.ListNanos/ours.CopyNanos)
	fmt.Printf("\nListServices returned %d nodes. Targets (issue 24): RSS < 150 MB; sync ≤ 1.3× the raw floor; GetService ≤ 2× small; ListServices ≤ 2× a copy.\n", ours.Nodes)
	return nil
}

// fleetChild runs a child and returns its figures.
func fleetChild(args ...string) (fleetFigures, error) {
	self, err := os.Executable()
	if err != nil {
		return fleetFigures{}, err
	}
	cmd := exec.Command(self, append([]string{"fleet-child"}, args...)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		return fleetFigures{}, fmt.Errorf("fleet child %v: %w", args, err)
	}
	var f fleetFigures
	if err := json.Unmarshal(out, &f); err != nil {
		return f, fmt.Errorf("fleet child %v: %q: %w", args, out, err)
	}
	if f.Err != "" {
		return f, fmt.Errorf("fleet child %v: %s", args, f.Err)
	}
	return f, nil
}

// fleetChildMain is a child's main.
func fleetChildMain(args []string) int {
	var f fleetFigures
	var err error
	switch {
	case len(args) == 5 && args[0] == "watch":
		services, _ := strconv.Atoi(args[3])
		per, _ := strconv.Atoi(args[4])
		err = watchFleet(&f, args[1], args[2], services, per)
	case len(args) == 3 && args[0] == "small":
		err = getSmall(&f, args[1], args[2])
	case len(args) == 4 && args[0] == "raw":
		err = rawFloor(&f, args[1], args[2])
	default:
		err = fmt.Errorf("usage: fleet-child watch|small|raw ...: %q", args)
	}
	if err != nil {
		f.Err = err.Error()
	}
	b, _ := json.Marshal(f)
	fmt.Println(string(b))
	if err != nil {
		return 1
	}
	return 0
}

// watchFleet is the watching process: Watch of everything, then lookups.
func watchFleet(f *fleetFigures, addr, prefix string, services, per int) error {
	r := openOurs(addr, prefix)
	defer closeRegistry(r)
	start := time.Now()
	w, err := r.Watch()
	if err != nil {
		return err
	}
	defer w.Stop()
	f.SyncSeconds = time.Since(start).Seconds()
	// The memory of being in sync, measured before any lookup: a
	// ListServices of everything allocates its 100,000 caller-owned
	// copies, which are the caller's, not the mirror's.
	runtime.GC()
	time.Sleep(time.Second) // let the runtime return what it freed
	if f.RSS, err = procStatus("VmRSS:"); err != nil {
		return err
	}
	if f.PeakRSS, err = procStatus("VmHWM:"); err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.HeapInUse = float64(ms.HeapInuse)
	svcs, err := r.ListServices()
	if err != nil {
		return err
	}
	f.Nodes = countNodes(svcs)
	if f.Nodes != services*per {
		return fmt.Errorf("in sync with %d nodes, want %d", f.Nodes, services*per)
	}

	if f.GetNanos, err = warmGet(r, "svc-05000", per); err != nil {
		return err
	}
	var lists, copies []float64
	for range 5 {
		t := time.Now()
		got, err := r.ListServices()
		if err != nil {
			return err
		}
		lists = append(lists, float64(time.Since(t)))
		t = time.Now()
		deepCopy(got)
		copies = append(copies, float64(time.Since(t)))
	}
	f.ListNanos, f.CopyNanos = median(lists), median(copies)
	return nil
}

// getSmall measures a warm GetService in a registry of one service.
func getSmall(f *fleetFigures, addr, prefix string) error {
	r := openOurs(addr, prefix)
	defer closeRegistry(r)
	var err error
	f.GetNanos, err = warmGet(r, "svc-small", *flagFleetPer)
	return err
}

// warmGet returns the time of a warm GetService of name, which has per
// nodes: the median of five rounds' means (a round may meet more garbage
// collections than another).
func warmGet(r registry.Registry, name string, per int) (float64, error) {
	got, err := r.GetService(name)
	if err != nil {
		return 0, err
	}
	if countNodes(got) != per {
		return 0, fmt.Errorf("%s has %d nodes, want %d", name, countNodes(got), per)
	}
	const rounds, n = 5, 20000
	means := make([]float64, rounds)
	for i := range means {
		start := time.Now()
		for range n {
			if _, err := r.GetService(name); err != nil {
				return 0, err
			}
		}
		means[i] = float64(time.Since(start)) / n
	}
	return median(means), nil
}

// deepCopy copies svcs as a caller-owned result is copied: everything,
// maps and endpoint values included (what the registry's faces do for
// every result, and what go-micro's memory registry does).
func deepCopy(svcs []*registry.Service) []*registry.Service {
	var value func(v *registry.Value) *registry.Value
	value = func(v *registry.Value) *registry.Value {
		if v == nil {
			return nil
		}
		c := &registry.Value{Name: v.Name, Type: v.Type}
		if v.Values != nil {
			c.Values = make([]*registry.Value, len(v.Values))
			for i, x := range v.Values {
				c.Values[i] = value(x)
			}
		}
		return c
	}
	out := make([]*registry.Service, len(svcs))
	for i, s := range svcs {
		c := *s
		c.Metadata = maps(s.Metadata)
		c.Endpoints = make([]*registry.Endpoint, len(s.Endpoints))
		for j, e := range s.Endpoints {
			c.Endpoints[j] = &registry.Endpoint{Name: e.Name, Metadata: maps(e.Metadata), Request: value(e.Request), Response: value(e.Response)}
		}
		c.Nodes = make([]*registry.Node, len(s.Nodes))
		for j, n := range s.Nodes {
			cn := *n
			cn.Metadata = maps(n.Metadata)
			c.Nodes[j] = &cn
		}
		out[i] = &c
	}
	return out
}

func maps(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}

// procStatus returns a size field of /proc/self/status ("VmRSS:", the
// resident set; "VmHWM:", its peak) in bytes.
func procStatus(field string) (float64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// rawFloor reads every service directory's children and every node's data
// under prefix with a plain go-zookeeper client, with the number of reads
// in flight that is fastest of a few, and reports the best time.
func rawFloor(f *fleetFigures, addr, prefix string) error {
	c, err := rawConn(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	best := time.Duration(0)
	for _, inflight := range []int{64, 128, 256} {
		start := time.Now()
		n, err := rawReadAll(c, prefix, inflight)
		if err != nil {
			return err
		}
		if d := time.Since(start); best == 0 || d < best {
			best, f.RawInflight, f.RawZnodeRead = d, inflight, n
		}
	}
	f.RawSeconds = best.Seconds()
	return nil
}

// rawReadAll lists prefix, lists every directory under it and reads every
// node's data (with watches, as a watcher must), at most inflight reads at
// once; it returns the number of nodes read.
func rawReadAll(c *zk.Conn, prefix string, inflight int) (int, error) {
	dirs, _, _, err := c.ChildrenW(prefix)
	if err != nil {
		return 0, err
	}
	var mu sync.Mutex // guards paths, firstErr
	var paths []string
	var firstErr error
	each := func(n int, fn func(i int) error) {
		sem := make(chan struct{}, inflight)
		var wg sync.WaitGroup
		for i := range n {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	each(len(dirs), func(i int) error {
		kids, _, _, err := c.ChildrenW(prefix + "/" + dirs[i])
		if err != nil {
			return err
		}
		mu.Lock()
		for _, k := range kids {
			paths = append(paths, prefix+"/"+dirs[i]+"/"+k)
		}
		mu.Unlock()
		return nil
	})
	if firstErr != nil {
		return 0, firstErr
	}
	each(len(paths), func(i int) error {
		_, _, _, err := c.GetW(paths[i])
		return err
	})
	return len(paths), firstErr
}
