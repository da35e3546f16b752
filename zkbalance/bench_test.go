package zkbalance

import (
	"context"
	"fmt"
	"testing"

	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"
)

// The costs the package adds on a request's path. The balancing itself
// (shares and latencies against Random and RoundRobin, writes per node) is
// measured with real servers by the harness in bench/ (make
// bench-balance).

// benchServices is one service of n nodes with loads and weights.
func benchServices(n int) []*registry.Service {
	s := &registry.Service{Name: service, Version: "1"}
	for i := range n {
		s.Nodes = append(s.Nodes, &registry.Node{
			Id:       fmt.Sprintf("n%d", i),
			Address:  fmt.Sprintf("10.0.0.%d:4100", i%250),
			Metadata: map[string]string{"load": fmt.Sprint(i % 7), "weight": "1", "protocol": "mucp"},
		})
	}
	return []*registry.Service{s}
}

// What a client pays per call to choose a node: the strategy over the
// nodes (once per Select), then one pick; go-micro's Random for scale.
func BenchmarkStrategy(b *testing.B) {
	for _, n := range []int{3, 30, 300} {
		svcs := benchServices(n)
		for _, s := range []struct {
			name     string
			strategy selector.Strategy
		}{{"Random", selector.Random}, {"LeastLoaded", LeastLoaded()}} {
			b.Run(fmt.Sprintf("%s/%d-nodes", s.name, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := s.strategy(svcs)(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// What a server pays per request to count it, with every core handling
// requests.
func BenchmarkHandlerWrapper(b *testing.B) {
	l := NewLoad()
	h := l.HandlerWrapper()(func(context.Context, server.Request, interface{}) error { return nil })
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = h(context.Background(), nil, nil)
		}
	})
}

// What a client pays per call from Select to the node, over go-micro's
// registry cache (filled from a memory registry): go-micro's selector with
// Random, the same with LeastLoaded, and NewSelector (which also counts
// the request in flight and checks ejections; Mark included).
func BenchmarkSelect(b *testing.B) {
	for _, n := range []int{3, 300} {
		mem := registry.NewMemoryRegistry()
		for _, s := range benchServices(n) {
			if err := mem.Register(s); err != nil {
				b.Fatal(err)
			}
		}
		for _, s := range []struct {
			name string
			sel  selector.Selector
		}{
			{"go-micro-Random", selector.NewSelector(selector.Registry(mem), selector.SetStrategy(selector.Random))},
			{"go-micro-LeastLoaded", selector.NewSelector(selector.Registry(mem), selector.SetStrategy(LeastLoaded()))},
			{"NewSelector", NewSelector(selector.Registry(mem))},
		} {
			b.Run(fmt.Sprintf("%s/%d-nodes", s.name, n), func(b *testing.B) {
				for b.Loop() {
					next, err := s.sel.Select(service)
					if err != nil {
						b.Fatal(err)
					}
					node, err := next()
					if err != nil {
						b.Fatal(err)
					}
					s.sel.Mark(service, node, nil)
				}
			})
			_ = s.sel.Close()
		}
	}
}
