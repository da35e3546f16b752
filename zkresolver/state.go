package zkresolver

import (
	"cmp"
	"slices"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/experimental/balancer/weight"
	"google.golang.org/grpc/resolver"
)

// offered returns the nodes of nodes (the service's, by id) that a target
// of version (every version if "") offers grpc, sorted by id: those that
// serve, or, when every matching node is draining, all of them (a draining
// node still answers; an empty list would fail every call).
func offered(nodes map[string]Node, version string) []Node {
	var serving, draining []Node
	for _, n := range nodes {
		switch {
		case version != "" && n.Version != version:
		case n.Draining:
			draining = append(draining, n)
		default:
			serving = append(serving, n)
		}
	}
	out := serving
	if len(out) == 0 {
		out = draining
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// newState returns the grpc state of nodes: one endpoint per node, whose
// Attributes hold the Node and grpc's endpoint weight, and the same
// addresses in State.Addresses, whose BalancerAttributes hold the Node,
// for policies that read addresses. Address.Attributes stay empty: they
// are the SubConn's (transport, credentials), and a change there would
// make the same node look like a new address.
func newState(nodes []Node) resolver.State {
	s := resolver.State{
		Addresses: make([]resolver.Address, 0, len(nodes)),
		Endpoints: make([]resolver.Endpoint, 0, len(nodes)),
	}
	for _, n := range nodes {
		attrs := attributes.New(nodeKey{}, n)
		s.Addresses = append(s.Addresses, resolver.Address{Addr: n.Address, BalancerAttributes: attrs})
		e := resolver.Endpoint{Addresses: []resolver.Address{{Addr: n.Address}}, Attributes: attrs}
		s.Endpoints = append(s.Endpoints, weight.Set(e, weight.EndpointInfo{Weight: grpcWeight(n.Weight)}))
	}
	return s
}
