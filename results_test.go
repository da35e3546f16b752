package zookeeper

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// richService is a service whose nodes share equal metadata, with an
// endpoint holding nested values: everything a caller could change.
func richService(name string, ids ...string) *registry.Service {
	s := svc(name, "1", ids...)
	for _, n := range s.Nodes {
		n.Metadata = map[string]string{"zone": "a"} // equal on every node
	}
	s.Endpoints = []*registry.Endpoint{{
		Name:     "Greeter.Hello",
		Metadata: map[string]string{"stream": "false"},
		Request:  &registry.Value{Name: "Request", Type: "Request", Values: []*registry.Value{{Name: "name", Type: "string"}}},
		Response: &registry.Value{Name: "Response", Type: "Response"},
	}}
	return s
}

// scribble changes everything a caller can change in svcs.
func scribble(svcs []*registry.Service) {
	for _, s := range svcs {
		s.Metadata["scribbled"] = "yes"
		for _, e := range s.Endpoints {
			e.Name = "Scribbled"
			e.Metadata["scribbled"] = "yes"
			e.Request.Values[0].Name = "scribbled"
			e.Request.Values = append(e.Request.Values, &registry.Value{Name: "extra"})
		}
		for _, n := range s.Nodes {
			n.Metadata["scribbled"] = n.Id
			n.Address = "scribbled:1"
		}
		s.Nodes = append(s.Nodes, &registry.Node{Id: "scribbled"})
	}
}

// requirePristine fails if svcs show any trace of scribble.
func requirePristine(t *testing.T, svcs []*registry.Service, what string) {
	t.Helper()
	for _, s := range svcs {
		require.NotContains(t, s.Metadata, "scribbled", "%s: service metadata", what)
		for _, e := range s.Endpoints {
			require.Equal(t, "Greeter.Hello", e.Name, "%s: endpoint", what)
			require.NotContains(t, e.Metadata, "scribbled", "%s: endpoint metadata", what)
			require.Len(t, e.Request.Values, 1, "%s: endpoint values", what)
			require.Equal(t, "name", e.Request.Values[0].Name, "%s: endpoint value", what)
		}
		for _, n := range s.Nodes {
			require.NotEqual(t, "scribbled", n.Id, "%s: nodes", what)
			require.NotContains(t, n.Metadata, "scribbled", "%s: node metadata", what)
			require.NotEqual(t, "scribbled:1", n.Address, "%s: node address", what)
		}
	}
}

// Every result belongs to its caller: changing it changes nothing the
// registry returns later, nor any other node of the same result (issue:
// "Results are shared, and sharing crashes callers").
func TestResultsBelongToTheCaller(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	writer := newTestRegistry(t, []string{srv.Addr})
	r := newTestRegistry(t, []string{srv.Addr})
	w, err := r.Watch(registry.WatchService("owned"))
	require.NoError(t, err)
	defer w.Stop()
	require.NoError(t, writer.Register(richService("owned", "n1", "n2")))

	// A watcher's results.
	for i := 0; i < 2; i++ {
		res := next(t, w, 10*time.Second)
		scribble([]*registry.Service{res.Service})
	}
	// GetService's: the change to n1 must not reach n2 of the same
	// result.
	got, err := r.GetService("owned")
	require.NoError(t, err)
	require.Len(t, got[0].Nodes, 2)
	got[0].Nodes[0].Metadata["only-n1"] = "x"
	assert.NotContains(t, got[0].Nodes[1].Metadata, "only-n1", "nodes of one result share a metadata map")
	scribble(got)
	// ListServices'.
	all, err := r.ListServices()
	require.NoError(t, err)
	scribble(all)

	// A node decoded later in the same version (the mirror's decoder
	// shares a version's parts) is untouched too.
	require.NoError(t, writer.Register(richService("owned", "n3")))
	next(t, w, 10*time.Second)

	got, err = r.GetService("owned")
	require.NoError(t, err)
	requirePristine(t, got, "GetService after callers scribbled")
	assert.Equal(t, []string{"n1", "n2", "n3"}, nodeIDs(got))
	all, err = r.ListServices()
	require.NoError(t, err)
	requirePristine(t, all, "ListServices after callers scribbled")
	direct := newTestRegistry(t, []string{srv.Addr}, MirrorReads(false))
	got, err = direct.GetService("owned")
	require.NoError(t, err)
	requirePristine(t, got, "a cold read")

	// What Register was given stays the caller's too.
	mine := richService("given", "g1")
	require.NoError(t, r.Register(mine))
	scribble([]*registry.Service{mine})
	got, err = r.GetService("given")
	require.NoError(t, err)
	requirePristine(t, got, "GetService after the registered value was changed")
}

// Two goroutines each changing their own result must not race (this
// crashed with "concurrent map iteration and map write"; -race sees it).
func TestConcurrentCallersChangingTheirResults(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	require.NoError(t, r.Register(richService("shared", "n1", "n2", "n3")))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				got, err := r.GetService("shared")
				if err != nil {
					t.Error(err)
					return
				}
				scribble(got)
				for _, s := range got {
					for range s.Metadata { // iterate while others write theirs
					}
				}
			}
		}()
	}
	wg.Wait()
}

// GetService of a service without nodes returns registry.ErrNotFound
// itself, which callers compare with ==, as go-micro's own registries do.
func TestGetServiceNotFoundIsGoMicrosSentinel(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	for _, mirror := range []bool{true, false} {
		r := newTestRegistry(t, []string{srv.Addr}, MirrorReads(mirror))
		_, err := r.GetService("nobody")
		assert.True(t, err == registry.ErrNotFound, "mirror=%v: got %v", mirror, err) //nolint:errorlint // the point
		require.NoError(t, r.Register(svc("gone", "1", "x")))
		require.NoError(t, r.Deregister(svc("gone", "1", "x")))
		_, err = r.GetService("gone")
		assert.True(t, err == registry.ErrNotFound, "mirror=%v: got %v", mirror, err) //nolint:errorlint // the point
	}
	// Other errors stay prefixed and wrapped.
	r := NewRegistry(registry.Addrs("127.0.0.1:1"), registry.Timeout(200*time.Millisecond))
	defer r.(*zkRegistry).Close()
	_, err := r.GetService("x")
	require.Error(t, err)
	assert.False(t, errors.Is(err, registry.ErrNotFound))
	assert.Contains(t, err.Error(), "zookeeper: get service")
}
