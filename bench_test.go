package zookeeper

// Benchmarks. The pure ones (encoding, escaping) need nothing; the
// registry ones run against one real standalone ZooKeeper server started
// for BenchmarkRegistry. They measure; they assert nothing about time.
// bench/ compares this plugin with the old one side by side (make bench).
//
//	go test -run '^$' -bench . -benchmem

import (
	"errors"
	"fmt"
	"testing"

	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// benchService is a service with one node per id and the metadata and
// endpoint a go-micro service registers.
func benchService(name string, ids ...string) *registry.Service {
	s := &registry.Service{
		Name:     name,
		Version:  "1.0.0",
		Metadata: map[string]string{"team": "bench"},
		Endpoints: []*registry.Endpoint{{
			Name:     "Greeter.Hello",
			Request:  &registry.Value{Name: "Request", Type: "Request", Values: []*registry.Value{{Name: "name", Type: "string"}}},
			Response: &registry.Value{Name: "Response", Type: "Response", Values: []*registry.Value{{Name: "msg", Type: "string"}}},
			Metadata: map[string]string{"stream": "false"},
		}},
	}
	for i, id := range ids {
		s.Nodes = append(s.Nodes, &registry.Node{
			Id:      id,
			Address: fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250),
			Metadata: map[string]string{
				"broker": "http", "protocol": "grpc", "registry": "zookeeper",
				"server": "grpc", "transport": "grpc",
			},
		})
	}
	return s
}

// BenchmarkRegistry runs the registry's calls against one real ZooKeeper
// server.
func BenchmarkRegistry(b *testing.B) {
	srv := zktest.Start(b)
	addrs := []string{srv.Addr}
	writer := newTestRegistry(b, addrs)
	sizes := []int{1, 10, 100}
	for _, n := range sizes {
		if err := writer.Register(benchService(fmt.Sprintf("get.%d", n), benchIDs(n)...)); err != nil {
			b.Fatal(err)
		}
	}
	var listed []*registry.Service
	for i := 0; i < 200; i++ {
		listed = append(listed, benchService(fmt.Sprintf("list.%03d", i), benchIDs(3)...))
	}
	lister := newTestRegistry(b, addrs, Prefix("/bench-list"))
	for _, s := range listed {
		if err := lister.Register(s); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("Register/new-node", func(b *testing.B) {
		r := newTestRegistry(b, addrs)
		if err := r.Register(benchService("register", "first")); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			if err := r.Register(benchService("register", fmt.Sprintf("n-%d", i))); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("Register/unchanged", func(b *testing.B) {
		r := newTestRegistry(b, addrs)
		s := benchService("register.unchanged", "n")
		if err := r.Register(s); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Register(s); err != nil {
				b.Fatal(err)
			}
		}
	})

	for _, n := range sizes {
		name := fmt.Sprintf("get.%d", n)
		b.Run(fmt.Sprintf("GetService/cold/nodes=%d", n), func(b *testing.B) {
			// The first lookup of the service by a connected registry.
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r := NewRegistry(registry.Addrs(addrs...)).(*zkRegistry)
				if _, err := r.GetService("none"); !errors.Is(err, registry.ErrNotFound) {
					b.Fatal(err)
				}
				b.StartTimer()
				got, err := r.GetService(name)
				b.StopTimer()
				_ = r.Close()
				if err != nil || countNodes(got) != n {
					b.Fatalf("got %d nodes, %v", countNodes(got), err)
				}
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("GetService/direct/nodes=%d", n), func(b *testing.B) {
			// MirrorReads(false): every call reads ZooKeeper.
			r := newTestRegistry(b, addrs, MirrorReads(false))
			for b.Loop() {
				if got, err := r.GetService(name); err != nil || countNodes(got) != n {
					b.Fatalf("got %d nodes, %v", countNodes(got), err)
				}
			}
		})
		b.Run(fmt.Sprintf("GetService/warm/nodes=%d", n), func(b *testing.B) {
			// Answered by the mirror.
			r := newTestRegistry(b, addrs)
			if _, err := r.GetService(name); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if got, err := r.GetService(name); err != nil || countNodes(got) != n {
					b.Fatalf("got %d nodes, %v", countNodes(got), err)
				}
			}
		})
	}

	b.Run("ListServices/cold/200x3", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			r := NewRegistry(registry.Addrs(addrs...), Prefix("/bench-list")).(*zkRegistry)
			if _, err := r.GetService("none"); !errors.Is(err, registry.ErrNotFound) {
				b.Fatal(err)
			}
			b.StartTimer()
			got, err := r.ListServices()
			b.StopTimer()
			_ = r.Close()
			if err != nil || countNodes(got) != 600 {
				b.Fatalf("got %d nodes, %v", countNodes(got), err)
			}
			b.StartTimer()
		}
	})

	b.Run("ListServices/direct/200x3", func(b *testing.B) {
		r := newTestRegistry(b, addrs, Prefix("/bench-list"), MirrorReads(false))
		for b.Loop() {
			if got, err := r.ListServices(); err != nil || countNodes(got) != 600 {
				b.Fatalf("got %d nodes, %v", countNodes(got), err)
			}
		}
	})

	b.Run("ListServices/warm/200x3", func(b *testing.B) {
		r := newTestRegistry(b, addrs, Prefix("/bench-list"))
		if _, err := r.ListServices(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if got, err := r.ListServices(); err != nil || countNodes(got) != 600 {
				b.Fatalf("got %d nodes, %v", countNodes(got), err)
			}
		}
	})
}

// benchIDs returns the node ids "n-0" ... "n-<n-1>".
func benchIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n-%d", i)
	}
	return out
}

func countNodes(svcs []*registry.Service) int {
	n := 0
	for _, s := range svcs {
		n += len(s.Nodes)
	}
	return n
}
