package engine

import (
	"context"
	"fmt"
	"maps"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// The measured reason the registry's mirror and the config source's Tree
// apply what they read differently (ARCHITECTURE.md): a lookup of one
// service through the mirror reads that service; through a Tree of the
// whole prefix it would read every service. Run with
//
//	go test -run '^$' -bench BenchmarkColdLookup -benchtime 20x ./internal/engine

// packetsReceived returns the server's count of packets received (mntr).
func packetsReceived(b *testing.B, addr string) int {
	b.Helper()
	out, err := zktest.FourLetter(addr, "mntr")
	require.NoError(b, err)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "zk_packets_received\t"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(b, err)
			return n
		}
	}
	b.Fatalf("mntr has no zk_packets_received")
	return 0
}

func BenchmarkColdLookup(b *testing.B) {
	const services, per = 1000, 10
	srv := zktest.Start(b)
	raw := rawConn(b, srv.Addr)
	ops := []any{&zk.CreateRequest{Path: "/micro-registry", Acl: zk.WorldACL(zk.PermAll)}}
	flush := func() {
		_, err := raw.Multi(ops...)
		require.NoError(b, err)
		ops = ops[:0]
	}
	for i := range services {
		name := fmt.Sprintf("svc%04d", i)
		ops = append(ops, &zk.CreateRequest{Path: "/micro-registry/" + name, Acl: zk.WorldACL(zk.PermAll)})
		s := svc(name, "1", ids(name, per)...)
		for _, n := range s.Nodes {
			data, err := encodeNode(s, n)
			require.NoError(b, err)
			ops = append(ops, &zk.CreateRequest{Path: "/micro-registry/" + name + "/" + n.Id, Data: data, Acl: zk.WorldACL(zk.PermAll)})
		}
		if len(ops) > 500 {
			flush()
		}
	}
	flush()
	ctx := context.Background()
	o := Options{Addrs: []string{srv.Addr}, Timeout: time.Minute}

	b.Run("mirror", func(b *testing.B) {
		start := packetsReceived(b, srv.Addr)
		for i := 0; i < b.N; i++ {
			r := NewRegistry(o)
			got, err := r.GetService(ctx, "svc0500")
			require.NoError(b, err)
			require.Len(b, got[0].Nodes, per)
			require.NoError(b, r.Close())
		}
		b.ReportMetric(float64(packetsReceived(b, srv.Addr)-start)/float64(b.N), "packets/op")
	})
	b.Run("tree", func(b *testing.B) {
		start := packetsReceived(b, srv.Addr)
		for i := 0; i < b.N; i++ {
			c := NewClient(o)
			tr := NewTree(c, TreeOptions{Prefix: "/micro-registry"})
			s, err := tr.Snapshot(ctx)
			require.NoError(b, err)
			require.Len(b, s.Nodes["/svc0500"].Children, per)
			require.NoError(b, tr.Close())
			require.NoError(b, c.Close())
		}
		b.ReportMetric(float64(packetsReceived(b, srv.Addr)-start)/float64(b.N), "packets/op")
	})
}

// BenchmarkWatchAllMemory reports the Go heap a registry holds per node
// once a Watch of every service is in sync (after a GC), and the time to
// be in sync, for a fleet written straight into ZooKeeper. The fleet
// benchmark (make scale) measures the same at 100,000 nodes on an
// ensemble, in a process of its own; this one is for profiling:
//
//	go test -run '^$' -bench BenchmarkWatchAllMemory -benchtime 1x -memprofile mem.out ./internal/engine
//
// writeFleet writes services × per node znodes, each with the payload a
// go-micro service registers (metadata, an endpoint), straight into the
// ZooKeeper at raw under /micro-registry.
func writeFleet(b *testing.B, raw *zk.Conn, services, per int) {
	b.Helper()
	ops := []any{&zk.CreateRequest{Path: "/micro-registry", Acl: zk.WorldACL(zk.PermAll)}}
	flush := func() {
		_, err := raw.Multi(ops...)
		require.NoError(b, err)
		ops = ops[:0]
	}
	for i := range services {
		name := fmt.Sprintf("svc-%05d", i)
		ops = append(ops, &zk.CreateRequest{Path: "/micro-registry/" + name, Acl: zk.WorldACL(zk.PermAll)})
		s := svc(name, "1.0.0", ids(name, per)...)
		s.Endpoints = []*Endpoint{{Name: "Greeter.Hello", Metadata: map[string]string{"stream": "false"},
			Request:  &Value{Name: "Request", Type: "Request", Values: []*Value{{Name: "name", Type: "string"}}},
			Response: &Value{Name: "Response", Type: "Response", Values: []*Value{{Name: "msg", Type: "string"}}}}}
		for _, n := range s.Nodes {
			n.Metadata = map[string]string{"broker": "http", "protocol": "grpc", "registry": "zookeeper", "server": "grpc", "transport": "grpc"}
			data, err := encodeNode(s, n)
			require.NoError(b, err)
			ops = append(ops, &zk.CreateRequest{Path: "/micro-registry/" + name + "/" + n.Id, Data: data, Acl: zk.WorldACL(zk.PermAll)})
		}
		if len(ops) > 500 {
			flush()
		}
	}
	flush()
}

func BenchmarkWatchAllMemory(b *testing.B) {
	const services, per = 2000, 10
	srv := zktest.Start(b, zktest.JVMFlags("-Xmx512m"))
	writeFleet(b, rawConn(b, srv.Addr), services, per)
	ctx := context.Background()
	var ms runtime.MemStats
	if os.Getenv("ZKMICRO_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact profile
	}
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapInuse
		start := time.Now()
		r := NewRegistry(Options{Addrs: []string{srv.Addr}, Timeout: time.Minute})
		w, err := r.Watch(ctx, "", nil)
		require.NoError(b, err)
		took := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse-before)/(services*per), "heapB/node")
		if p := os.Getenv("ZKMICRO_HEAPPROFILE"); p != "" {
			f, err := os.Create(p)
			require.NoError(b, err)
			require.NoError(b, pprof.WriteHeapProfile(f))
			require.NoError(b, f.Close())
		}
		b.ReportMetric(took.Seconds(), "sync-s")
		got, err := r.ListServices(ctx)
		require.NoError(b, err)
		require.Len(b, got, services)
		w.Stop()
		require.NoError(b, r.Close())
	}
}

// BenchmarkListServicesAll measures a warm ListServices of 20,000 nodes
// from the mirror (the engine's part: the go-micro faces copy the result),
// beside a deep copy of the same result:
//
//	go test -run '^$' -bench BenchmarkListServicesAll ./internal/engine
func BenchmarkListServicesAll(b *testing.B) {
	const services, per = 2000, 10
	srv := zktest.Start(b)
	writeFleet(b, rawConn(b, srv.Addr), services, per)
	r := NewRegistry(Options{Addrs: []string{srv.Addr}, Timeout: time.Minute})
	b.Cleanup(func() { _ = r.Close() })
	ctx := context.Background()
	w, err := r.Watch(ctx, "", nil)
	require.NoError(b, err)
	b.Cleanup(w.Stop)
	got, err := r.ListServices(ctx)
	require.NoError(b, err)
	require.Len(b, got, services)
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.ListServices(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			copyServices(got)
		}
	})
}

// copyServices deep-copies svcs, as a face copies a result for its caller.
func copyServices(svcs []*Service) []*Service {
	out := make([]*Service, len(svcs))
	var value func(v *Value) *Value
	value = func(v *Value) *Value {
		if v == nil {
			return nil
		}
		c := &Value{Name: v.Name, Type: v.Type}
		for _, x := range v.Values {
			c.Values = append(c.Values, value(x))
		}
		return c
	}
	for i, s := range svcs {
		c := &Service{Name: s.Name, Version: s.Version, Metadata: maps.Clone(s.Metadata)}
		for _, e := range s.Endpoints {
			c.Endpoints = append(c.Endpoints, &Endpoint{Name: e.Name, Metadata: maps.Clone(e.Metadata), Request: value(e.Request), Response: value(e.Response)})
		}
		nodes := make([]Node, len(s.Nodes))
		c.Nodes = make([]*Node, len(s.Nodes))
		for j, n := range s.Nodes {
			nodes[j] = Node{Id: n.Id, Address: n.Address, Metadata: maps.Clone(n.Metadata)}
			c.Nodes[j] = &nodes[j]
		}
		out[i] = c
	}
	return out
}

// BenchmarkGetServiceLargeMirror measures a warm GetService of a 10-node
// service, and the same with the caller's copy a face makes, in a registry
// that mirrors one service and in one that mirrors 10,000 (100,000
// nodes). The difference is the garbage collector marking the large
// mirror: run it with GOGC=off too (docs/performance.md, 100,000 nodes):
//
//	go test -run '^$' -bench BenchmarkGetServiceLargeMirror -benchmem ./internal/engine
func BenchmarkGetServiceLargeMirror(b *testing.B) {
	for _, services := range []int{1, 10000} {
		b.Run(fmt.Sprintf("services=%d", services), func(b *testing.B) {
			srv := zktest.Start(b, zktest.JVMFlags("-Xmx1024m"))
			writeFleet(b, rawConn(b, srv.Addr), services, 10)
			r := NewRegistry(Options{Addrs: []string{srv.Addr}, Timeout: time.Minute})
			b.Cleanup(func() { _ = r.Close() })
			ctx := context.Background()
			w, err := r.Watch(ctx, "", nil)
			require.NoError(b, err)
			b.Cleanup(w.Stop)
			name := fmt.Sprintf("svc-%05d", services/2)
			got, err := r.GetService(ctx, name)
			require.NoError(b, err)
			require.Len(b, got[0].Nodes, 10)
			b.Run("engine", func(b *testing.B) {
				for b.Loop() {
					if _, err := r.GetService(ctx, name); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("copied", func(b *testing.B) {
				for b.Loop() {
					got, err := r.GetService(ctx, name)
					if err != nil {
						b.Fatal(err)
					}
					copyServices(got)
				}
			})
		})
	}
}
