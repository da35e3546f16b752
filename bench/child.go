package main

// The watching process of the memory row and the scale check: the harness
// runs its own binary as a child, so that the child's RSS is that of a
// process doing nothing but watch.
//
//	bench watch-child <ours|old> <addr> <prefix> <services> <nodes per service>
//
// The child watches all services and keeps the set of live nodes its
// watcher reported. It prints "READY" once watching, "CONVERGED <ns>" when
// the set first holds services × nodes entries (ns counted from the first
// event), and answers "count" on stdin with "COUNT <watcher> <list>" (list
// is the number of nodes ListServices returns, -1 for the old plugin, whose
// ListServices returns names only). It exits when stdin closes.

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"go-micro.dev/v4/registry"
)

func watchChild(args []string) int {
	if len(args) != 5 {
		fmt.Println("ERROR usage: watch-child <ours|old> <addr> <prefix> <services> <nodes>")
		return 2
	}
	impl, addr, prefix := args[0], args[1], args[2]
	services, _ := strconv.Atoi(args[3])
	perService, _ := strconv.Atoi(args[4])
	want := services * perService

	var r registry.Registry
	switch impl {
	case "ours":
		r = openOurs(addr, prefix)
	case "old":
		var err error
		if r, err = openOld(addr); err != nil {
			fmt.Println("ERROR", err)
			return 1
		}
	default:
		fmt.Println("ERROR unknown plugin", impl)
		return 2
	}
	w, err := r.Watch()
	if err != nil {
		fmt.Println("ERROR watch:", err)
		return 1
	}
	fmt.Println("READY")

	var mu sync.Mutex // guards live
	live := make(map[string]struct{}, want)
	go func() {
		var first time.Time
		converged := false
		for {
			res, err := w.Next()
			if err != nil {
				if isStopped(err) {
					return
				}
				continue
			}
			if res == nil || res.Service == nil {
				continue
			}
			if first.IsZero() {
				first = time.Now()
			}
			mu.Lock()
			for _, n := range res.Service.Nodes {
				key := res.Service.Name + "/" + n.Id
				switch res.Action {
				case "create", "update":
					live[key] = struct{}{}
				case "delete":
					delete(live, key)
				}
			}
			n := len(live)
			mu.Unlock()
			if !converged && n >= want {
				converged = true
				fmt.Printf("CONVERGED %d\n", time.Since(first).Nanoseconds())
				if p := os.Getenv("ZKBENCH_HEAPPROFILE"); p != "" {
					// For profiling the harness; changes the RSS it reports.
					if f, err := os.Create(p + "." + impl); err == nil {
						runtime.GC()
						_ = pprof.WriteHeapProfile(f)
						f.Close()
					}
				}
			}
		}
	}()

	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() != "count" {
			continue
		}
		mu.Lock()
		n := len(live)
		mu.Unlock()
		list := -1
		if impl == "ours" {
			if svcs, err := r.ListServices(); err == nil {
				list = countNodes(svcs)
			}
		}
		fmt.Printf("COUNT %d %d\n", n, list)
	}
	w.Stop()
	closeRegistry(r)
	return 0
}
