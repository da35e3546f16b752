package main

// The harness's 3-node ZooKeeper ensemble comes from internal/zktest, the
// tests' own: free loopback ports, one directory per server, servers that
// die with the harness. zktest is written for tests; harnessTB stands in
// for one.

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// harnessTB is the zktest.TB of the harness: Fatal ends startEnsemble with
// an error, Cleanup runs when the ensemble is stopped, and temporary
// directories live in one directory removed at the end.
type harnessTB struct {
	dir string

	mu       sync.Mutex // guards cleanups
	cleanups []func()
}

// fatal carries a Fatal from zktest to startEnsemble.
type fatal struct{ err error }

func (h *harnessTB) Helper()                   {}
func (h *harnessTB) Fatal(args ...any)         { panic(fatal{fmt.Errorf("%s", fmt.Sprint(args...))}) }
func (h *harnessTB) Fatalf(f string, a ...any) { panic(fatal{fmt.Errorf(f, a...)}) }

func (h *harnessTB) Cleanup(f func()) {
	h.mu.Lock()
	h.cleanups = append(h.cleanups, f)
	h.mu.Unlock()
}

func (h *harnessTB) TempDir() string {
	d, err := os.MkdirTemp(h.dir, "zk")
	if err != nil {
		h.Fatal(err)
	}
	return d
}

// stop runs the cleanups, last first, and removes the directory.
func (h *harnessTB) stop() {
	h.mu.Lock()
	cleanups := h.cleanups
	h.cleanups = nil
	h.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	_ = os.RemoveAll(h.dir)
}

// ensemble is the harness's running ensemble.
type ensemble struct {
	*zktest.Ensemble
	tb *harnessTB
}

// startEnsemble starts n servers from jar, each with a heap of heapMB, and
// waits until they serve. Unlike the tests' servers, they run with the
// JVM's full JIT and log warnings only.
func startEnsemble(n int, jar string, heapMB int) (e *ensemble, err error) {
	if err := os.Setenv(zktest.EnvJar, jar); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "zkbench-")
	if err != nil {
		return nil, err
	}
	tb := &harnessTB{dir: dir}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			tb.stop()
			e, err = nil, f.err
		}
	}()
	ens := zktest.StartEnsemble(tb, n, zktest.JVMFlags(
		fmt.Sprintf("-Xmx%dm", heapMB), "-Xms64m", "-XX:TieredStopAtLevel=4",
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-Dznode.container.checkIntervalMs=60000", // ZooKeeper's default: empty services stay between samples
	))
	return &ensemble{Ensemble: ens, tb: tb}, nil
}

// stop kills every server and removes the ensemble's directory.
func (e *ensemble) stop() { e.tb.stop() }

// describe returns "127.0.0.1:p1 follower, ..." for the table's header.
func (e *ensemble) describe() string {
	var parts []string
	for _, s := range e.Servers {
		mode, err := s.Mode()
		if err != nil {
			mode = "?"
		}
		parts = append(parts, fmt.Sprintf("%s %s", s.Addr, mode))
	}
	return strings.Join(parts, ", ")
}
