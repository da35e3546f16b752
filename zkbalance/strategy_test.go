package zkbalance

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

// services is one service version holding nodes with the metadata given,
// named n0, n1...; a nil map makes a nil node.
func services(mds ...map[string]string) []*registry.Service {
	s := &registry.Service{Name: service, Version: "1"}
	for i, md := range mds {
		if md == nil {
			s.Nodes = append(s.Nodes, nil)
			continue
		}
		s.Nodes = append(s.Nodes, &registry.Node{Id: "n" + string(rune('0'+i)), Metadata: md})
	}
	return []*registry.Service{s}
}

// pickShares picks n times from next and returns how often each node id
// came out.
func pickShares(t *testing.T, next selector.Next, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		node, err := next()
		require.NoError(t, err)
		got[node.Id]++
	}
	return got
}

func TestLeastLoadedTreatsBadMetadataAsAbsent(t *testing.T) {
	tests := []struct {
		name string
		svcs []*registry.Service
		want func(t *testing.T, got map[string]int)
	}{
		{"bad load and weight count as load 0, weight 1",
			services(map[string]string{"load": "abc", "weight": "-1"}, map[string]string{"load": "5"}),
			func(t *testing.T, got map[string]int) { assert.Equal(t, map[string]int{"n0": 300}, got) }},
		{"NaN and Inf",
			services(map[string]string{"load": "NaN", "weight": "Inf"}, map[string]string{"load": "+Inf", "weight": "0"}),
			func(t *testing.T, got map[string]int) { assert.Positive(t, got["n0"]); assert.Positive(t, got["n1"]) }},
		{"nil nodes are skipped",
			services(nil, map[string]string{}, nil),
			func(t *testing.T, got map[string]int) { assert.Equal(t, map[string]int{"n1": 300}, got) }},
		{"draining never while another serves",
			services(map[string]string{"status": "draining"}, map[string]string{"load": "100"}),
			func(t *testing.T, got map[string]int) { assert.Equal(t, map[string]int{"n1": 300}, got) }},
		{"all draining: chosen anyway",
			services(map[string]string{"status": "draining"}, map[string]string{"status": "draining"}),
			func(t *testing.T, got map[string]int) { assert.Positive(t, got["n0"]); assert.Positive(t, got["n1"]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want(t, pickShares(t, LeastLoaded()(tt.svcs), 300))
		})
	}
}

func TestLeastLoadedWithoutNodesHasNoneAvailable(t *testing.T) {
	for _, svcs := range [][]*registry.Service{nil, {nil}, services(), services(nil)} {
		_, err := LeastLoaded()(svcs)()
		assert.ErrorIs(t, err, selector.ErrNoneAvailable)
	}
}

func TestIsFailureSparesTheCallersErrors(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("connection refused"), true},
		{merrors.InternalServerError("svc", "boom"), true},
		{merrors.BadRequest("svc", "bad"), false},
		{merrors.NotFound("svc", "no"), false},
		{merrors.Timeout("go.micro.client", "slow"), true},
		{merrors.New("svc", "slow down", 429), true},
		{errors.New(merrors.Forbidden("svc", "no").Error()), false}, // parsed from its text
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, isFailure(tt.err), "%v", tt.err)
	}
}

func TestSelectorOptionsOverTheDefaults(t *testing.T) {
	apply := func(opts ...selector.Option) ejectConfig {
		var o selector.Options
		for _, opt := range opts {
			opt(&o)
		}
		return ejectConfigOf(o.Context)
	}
	assert.Equal(t, ejectConfig{DefaultFailures, DefaultBackoff, DefaultMaxBackoff}, apply())
	assert.Equal(t, ejectConfig{5, time.Second, 4 * time.Second}, apply(Failures(5), Backoff(time.Second), MaxBackoff(4*time.Second)))
	assert.Equal(t, ejectConfig{DefaultFailures, DefaultBackoff, DefaultMaxBackoff}, apply(Failures(0), Backoff(-1), MaxBackoff(0)), "invalid values keep the defaults")
	assert.Equal(t, ejectConfig{DefaultFailures, 5 * time.Minute, 5 * time.Minute}, apply(Backoff(5*time.Minute)), "the maximum is at least the backoff")

	c := newLoadConfig([]Option{Interval(0), DrainTimeout(-1)})
	assert.Equal(t, loadConfig{DefaultInterval, DefaultDrainTimeout, refreshEvery}, c, "invalid values keep the defaults")
	c = newLoadConfig([]Option{Interval(time.Minute), DrainTimeout(0)})
	assert.Equal(t, loadConfig{time.Minute, 0, refreshEvery}, c)
}

// NewSelector's picks count as the client's requests in flight, which
// weigh as load until Mark ends them.
func TestNewSelectorCountsTheClientsRequestsInFlight(t *testing.T) {
	mem := registry.NewMemoryRegistry()
	for _, id := range []string{"a", "b"} {
		require.NoError(t, mem.Register(&registry.Service{Name: service, Version: "1", Nodes: []*registry.Node{{Id: id, Address: id + ":1"}}}))
	}
	sel := NewSelector(selector.Registry(mem))
	defer sel.Close()
	next, err := sel.Select(service)
	require.NoError(t, err)
	first, err := next()
	require.NoError(t, err)
	// With one request in flight to the first node, and none published,
	// the other one wins every comparison.
	for range 50 {
		n, err := next()
		require.NoError(t, err)
		require.NotEqual(t, first.Id, n.Id)
		sel.Mark(service, n, nil)
	}
	sel.Mark(service, first, nil)
	got := pickShares(t, func() (*registry.Node, error) {
		n, err := next()
		if err == nil {
			sel.Mark(service, n, nil)
		}
		return n, err
	}, 200)
	assert.Len(t, got, 2, "both again once the request ended")
	assert.Equal(t, "zkbalance", sel.String())
}
