package zkresolver

import (
	"fmt"
	"maps"
	"math"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"

	"github.com/zkmicro/zookeeper/internal/balance"
	"github.com/zkmicro/zookeeper/internal/engine"
)

// Node metadata keys and values of the soft load balancing conventions, a
// compatibility contract of the registry's node metadata that any client
// may read.
// They are the engine's, where the contract is kept (docs/compatibility.md).
const (
	// MetaWeight is a node's share of traffic relative to the other nodes:
	// a positive decimal (digits, optionally a point and more digits, such
	// as "3" or "0.5"); 1 when absent or not such a number.
	MetaWeight = engine.MetaWeight
	// MetaStatus is a node's status: StatusDraining means "send it no new
	// requests"; any other value, or none, means it serves.
	MetaStatus = engine.MetaStatus
	// StatusDraining is the MetaStatus of a node that takes no new
	// requests.
	StatusDraining = engine.StatusDraining
)

// Node is one registry node as the resolver hands it to grpc, attached to
// the node's endpoint (see NodeFromEndpoint) and address (see
// NodeFromAddress). Balancers and pickers of one's own may read it. It is
// shared with grpc and must be treated as read-only, Metadata included.
type Node struct {
	// Service and Version are the node's service name and version.
	Service, Version string
	// ID is the node's id, unique within its service.
	ID string
	// Address is the address grpc dials.
	Address string
	// Metadata is the node's metadata as registered (a copy of the
	// registry's, shared with grpc: read-only).
	Metadata map[string]string
	// Weight is the node's MetaWeight: a positive number, 1 when the
	// metadata has none or not a positive decimal.
	Weight float64
	// Draining reports that the node's MetaStatus is StatusDraining.
	Draining bool
}

// Equal reports whether o is a Node equal to n, field by field: grpc
// compares attributes with it.
func (n Node) Equal(o any) bool {
	m, ok := o.(Node)
	return ok && n.Service == m.Service && n.Version == m.Version && n.ID == m.ID &&
		n.Address == m.Address && n.Weight == m.Weight && n.Draining == m.Draining &&
		maps.Equal(n.Metadata, m.Metadata)
}

// String names the node for logs (grpc prints attributes in its traces),
// with every control character escaped: ids and addresses are written by
// whoever registers the node.
func (n Node) String() string {
	return fmt.Sprintf("%q node %q at %q", n.Service, n.ID, n.Address)
}

// nodeKey is the attributes key under which the resolver stores a Node.
type nodeKey struct{}

// NodeFromEndpoint returns the Node the resolver attached to e (in
// e.Attributes), and false if e did not come from this resolver.
func NodeFromEndpoint(e resolver.Endpoint) (Node, bool) {
	return nodeFrom(e.Attributes)
}

// NodeFromAddress returns the Node the resolver attached to a (in
// a.BalancerAttributes, where the resolver's State.Addresses carry it),
// and false if a did not come from this resolver.
func NodeFromAddress(a resolver.Address) (Node, bool) {
	return nodeFrom(a.BalancerAttributes)
}

func nodeFrom(a *attributes.Attributes) (Node, bool) {
	n, ok := a.Value(nodeKey{}).(Node)
	return n, ok
}

// newNode returns node n of s (a one-node service a watcher reported, or
// one node of GetService's answer) as a Node, its metadata copied out of
// the registry's read-only values.
func newNode(s *engine.Service, n *engine.Node) Node {
	return Node{
		Service:  s.Name,
		Version:  s.Version,
		ID:       n.Id,
		Address:  n.Address,
		Metadata: maps.Clone(n.Metadata),
		Weight:   parseWeight(n.Metadata[MetaWeight]),
		Draining: n.Metadata[MetaStatus] == StatusDraining,
	}
}

// parseWeight returns the weight a MetaWeight value gives: the number, if
// it is a positive decimal that a float64 holds, or 1 (the conventions'
// one reader, shared with zkbalance).
func parseWeight(s string) float64 {
	w, err := balance.ParseWeight(s)
	if err != nil {
		return 1
	}
	return w
}

// weightScale turns a node's Weight into grpc's integer endpoint weight
// (google.golang.org/grpc/experimental/balancer/weight): weights are
// relative, so the scale keeps three decimals without changing the ratios.
const weightScale = 1000

// grpcWeight returns w as grpc's endpoint weight: w×weightScale rounded,
// at least 1 and at most the largest uint32.
func grpcWeight(w float64) uint32 {
	return uint32(min(max(math.Round(w*weightScale), 1), math.MaxUint32))
}
