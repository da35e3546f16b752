package zkresolver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/experimental/balancer/weight"
)

func TestOffered(t *testing.T) {
	n := func(id, version string, draining bool) Node {
		return Node{ID: id, Version: version, Address: id + ":1", Draining: draining, Weight: 1}
	}
	ids := func(nodes []Node) []string {
		out := []string{}
		for _, n := range nodes {
			out = append(out, n.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		nodes   []Node
		version string
		want    []string
	}{
		{name: "none", want: []string{}},
		{name: "sorted by id", nodes: []Node{n("c", "1", false), n("a", "1", false), n("b", "2", false)}, want: []string{"a", "b", "c"}},
		{name: "one version", nodes: []Node{n("c", "1", false), n("a", "1", false), n("b", "2", false)}, version: "1", want: []string{"a", "c"}},
		{name: "a version without nodes", nodes: []Node{n("a", "1", false)}, version: "2", want: []string{}},
		{name: "draining left out", nodes: []Node{n("a", "1", true), n("b", "1", false)}, want: []string{"b"}},
		{name: "all draining: all given", nodes: []Node{n("b", "1", true), n("a", "1", true)}, want: []string{"a", "b"}},
		{name: "draining of another version does not count", nodes: []Node{n("a", "1", true), n("b", "2", false)}, version: "1", want: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := map[string]Node{}
			for _, x := range tc.nodes {
				nodes[x.ID] = x
			}
			assert.Equal(t, tc.want, ids(offered(nodes, tc.version)))
		})
	}
}

func TestNewStateAttachesNodesAndWeights(t *testing.T) {
	nodes := []Node{
		{Service: "s", ID: "a", Address: "10.0.0.1:1", Weight: 1, Metadata: map[string]string{"zone": "eu"}},
		{Service: "s", ID: "b", Address: "10.0.0.2:1", Weight: 2.5},
	}
	s := newState(nodes)
	require.Len(t, s.Endpoints, 2)
	require.Len(t, s.Addresses, 2)
	for i, want := range nodes {
		e := s.Endpoints[i]
		require.Len(t, e.Addresses, 1)
		assert.Equal(t, want.Address, e.Addresses[0].Addr)
		assert.Nil(t, e.Addresses[0].Attributes, "the SubConn's attributes stay empty")
		assert.Nil(t, e.Addresses[0].BalancerAttributes, "an address inside an endpoint has none")
		got, ok := NodeFromEndpoint(e)
		require.True(t, ok)
		assert.True(t, want.Equal(got))
		assert.Equal(t, grpcWeight(want.Weight), weight.FromEndpoint(e).Weight)

		a := s.Addresses[i]
		assert.Equal(t, want.Address, a.Addr)
		assert.Nil(t, a.Attributes)
		got, ok = NodeFromAddress(a)
		require.True(t, ok)
		assert.True(t, want.Equal(got))
	}
	assert.Equal(t, uint32(2500), weight.FromEndpoint(s.Endpoints[1]).Weight)

	empty := newState(nil)
	assert.NotNil(t, empty.Endpoints, "an empty list, not none")
	assert.Empty(t, empty.Endpoints)
	assert.Empty(t, empty.Addresses)
}
