package zkresolver

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"

	"github.com/zkmicro/zookeeper/internal/engine"
)

func TestParseWeight(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{"", 1},
		{"1", 1},
		{"3", 3},
		{"0.5", 0.5},
		{"007", 7},
		{"2.50", 2.5},
		{"0", 1},
		{"0.0", 1},
		{"-1", 1},
		{"+2", 1},
		{".5", 1},
		{"5.", 1},
		{"1e3", 1},
		{"0x10", 1},
		{"Inf", 1},
		{"NaN", 1},
		{" 2", 1},
		{"2 ", 1},
		{"1,5", 1},
		{"1.2.3", 1},
		{"1_000", 1},
		{"٣", 1}, // an Arabic-Indic digit
	} {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, parseWeight(tc.in))
		})
	}
	huge := "1"
	for range 400 {
		huge += "0"
	}
	assert.Equal(t, 1.0, parseWeight(huge), "a decimal beyond float64's range")
}

func TestGRPCWeight(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want uint32
	}{
		{1, 1000},
		{0.5, 500},
		{2.0004, 2000},
		{0.0001, 1},
		{1e12, math.MaxUint32},
	} {
		assert.Equal(t, tc.want, grpcWeight(tc.in), "weight %v", tc.in)
	}
}

func TestNewNodeReadsTheConventions(t *testing.T) {
	svc := &engine.Service{Name: "greeter", Version: "1.0.0"}
	md := map[string]string{MetaWeight: "2.5", MetaStatus: StatusDraining, "zone": "eu"}
	n := newNode(svc, &engine.Node{Id: "g1", Address: "10.0.0.1:50051", Metadata: md})
	assert.Equal(t, Node{Service: "greeter", Version: "1.0.0", ID: "g1", Address: "10.0.0.1:50051", Metadata: md, Weight: 2.5, Draining: true}, n)
	n.Metadata["zone"] = "us"
	assert.Equal(t, "eu", md["zone"], "a Node's metadata is a copy of the registry's")

	for _, status := range []string{"", "serving", "Draining", "draining "} {
		n := newNode(svc, &engine.Node{Id: "g1", Metadata: map[string]string{MetaStatus: status}})
		assert.False(t, n.Draining, "status %q", status)
		assert.Equal(t, 1.0, n.Weight)
	}
}

func TestNodeEqualComparesEveryField(t *testing.T) {
	base := Node{Service: "s", Version: "v", ID: "i", Address: "a", Metadata: map[string]string{"k": "v"}, Weight: 1}
	same := base
	same.Metadata = map[string]string{"k": "v"}
	assert.True(t, base.Equal(same))
	for name, change := range map[string]func(*Node){
		"service":  func(n *Node) { n.Service = "x" },
		"version":  func(n *Node) { n.Version = "x" },
		"id":       func(n *Node) { n.ID = "x" },
		"address":  func(n *Node) { n.Address = "x" },
		"metadata": func(n *Node) { n.Metadata = map[string]string{"k": "w"} },
		"weight":   func(n *Node) { n.Weight = 2 },
		"draining": func(n *Node) { n.Draining = true },
	} {
		other := base
		change(&other)
		assert.False(t, base.Equal(other), name)
	}
	assert.False(t, base.Equal(&same), "a *Node is not a Node")
	assert.False(t, base.Equal(nil))
}

func TestNodeStringEscapesControlCharacters(t *testing.T) {
	n := Node{Service: "greeter", ID: "g1\x1b[2J", Address: "10.0.0.1:1\n"}
	assert.Equal(t, `"greeter" node "g1\x1b[2J" at "10.0.0.1:1\n"`, n.String())
}

func TestNodeFromAttributes(t *testing.T) {
	n := Node{Service: "greeter", ID: "g1"}
	_, ok := NodeFromEndpoint(resolver.Endpoint{})
	assert.False(t, ok, "no attributes")
	_, ok = NodeFromAddress(resolver.Address{BalancerAttributes: attributes.New("other", 1)})
	assert.False(t, ok, "other attributes")
	got, ok := NodeFromEndpoint(resolver.Endpoint{Attributes: attributes.New(nodeKey{}, n)})
	assert.True(t, ok)
	assert.Equal(t, n, got)
	got, ok = NodeFromAddress(resolver.Address{BalancerAttributes: attributes.New(nodeKey{}, n)})
	assert.True(t, ok)
	assert.Equal(t, n, got)
	_, ok = NodeFromAddress(resolver.Address{Attributes: attributes.New(nodeKey{}, n)})
	assert.False(t, ok, "a Node is read from BalancerAttributes only")
}
