package zkbalance

import (
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	"github.com/zkmicro/zookeeper/internal/balance"
)

// LeastLoaded returns a go-micro selector strategy that picks nodes by the
// power of two random choices: of two nodes drawn at random (each with a
// probability proportional to its weight, engine.MetaWeight), the one with
// the lower load per weight (engine.MetaLoad / engine.MetaWeight), the
// first drawn on a tie; never a node whose status is draining
// (engine.MetaStatus) while another one is available. A load or weight
// that does not parse counts as absent (load 0, weight 1). Use it with
// go-micro's selector:
//
//	sel := selector.NewSelector(selector.Registry(reg), selector.SetStrategy(zkbalance.LeastLoaded()))
//
// or with NewSelector, whose default strategy it is, made better by what
// the client knows of its own requests. The loads it compares are those
// the servers published, at most an Interval (1 s) old: a single client
// sending many requests at once may send a burst to the node that was the
// least loaded a moment ago, which NewSelector avoids.
func LeastLoaded() selector.Strategy {
	return func(services []*registry.Service) selector.Next {
		return leastLoaded(services, nil)
	}
}

// leastLoaded is LeastLoaded over services; local, if not nil, returns the
// requests the client has in flight to a node, which stand for its load
// when the published one is lower.
func leastLoaded(services []*registry.Service, local func(*registry.Node) int) selector.Next {
	var nodes []*registry.Node
	for _, s := range services {
		if s == nil {
			continue
		}
		for _, n := range s.Nodes {
			if n != nil {
				nodes = append(nodes, n)
			}
		}
	}
	infos := make([]balance.Node, len(nodes))
	for i, n := range nodes {
		infos[i] = balance.Weigh(n.Metadata)
	}
	c := balance.NewChooser(infos)
	// The loads of the two nodes compared only.
	load := func(i int) float64 { return balance.LoadOf(nodes[i].Metadata) }
	if local != nil {
		load = func(i int) float64 { return max(balance.LoadOf(nodes[i].Metadata), float64(local(nodes[i]))) }
	}
	return func() (*registry.Node, error) {
		i := c.Choose(load)
		if i < 0 {
			return nil, selector.ErrNoneAvailable
		}
		return nodes[i], nil
	}
}
