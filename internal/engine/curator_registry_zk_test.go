package engine

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Issue 23: Java services (Apache Curator's service discovery) and Go
// services in one ZooKeeper. One ZooKeeper and one Java peer serve each
// test: Java is slow to start.

// nodeByID returns the node of svcs with id, nil if none.
func nodeByID(svcs []*Service, id string) (*Service, *Node) {
	for _, s := range svcs {
		for _, n := range s.Nodes {
			if n.Id == id {
				return s, n
			}
		}
	}
	return nil, nil
}

func TestRegistryReadsCuratorServices(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	ctx := context.Background()
	java := zktest.StartCurator(t, srv.Addr, zktest.CuratorSessionTimeout(2*time.Second))
	java.Register(t, zktest.CuratorInstance{Name: "billing", ID: "b1", Address: "10.0.0.7", Port: 8080,
		Spring: map[string]string{"instance_status": "UP", "zone": "a"}})

	// Without the option nothing is read under /services.
	plain := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 20 * time.Second})
	_, err := plain.GetService(ctx, "billing")
	require.ErrorIs(t, err, ErrNotFound)
	all, err := plain.ListServices(ctx)
	require.NoError(t, err)
	assert.Empty(t, all)

	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 20 * time.Second, Settings: []Option{Curator("")}})
	require.NoError(t, r.Register(ctx, svc("greeter", "1", "g1")))
	got, err := r.GetService(ctx, "billing")
	require.NoError(t, err)
	s, n := nodeByID(got, "b1")
	require.NotNil(t, n)
	assert.Equal(t, "billing", s.Name)
	assert.Equal(t, "10.0.0.7:8080", n.Address)
	assert.Equal(t, "a", n.Metadata["zone"])
	assert.Equal(t, CuratorOriginCurator, n.Metadata[MetaCuratorOrigin])
	all, err = r.ListServices(ctx)
	require.NoError(t, err)
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"billing", "greeter"}, names, "both layouts, sorted")

	// A watcher of all services sees Java's instances come, change and go.
	w, err := r.Watch(ctx, "", nil)
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	java.Register(t, zktest.CuratorInstance{Name: "billing", ID: "b2", Address: "10.0.0.8", Port: 8080, Spring: map[string]string{"zone": "a"}})
	e := nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionCreate, e.Action)
	assert.Equal(t, "b2", e.Service.Nodes[0].Id)
	java.Update(t, "b2", map[string]string{"zone": "b"})
	e = nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionUpdate, e.Action)
	assert.Equal(t, "b", e.Service.Nodes[0].Metadata["zone"])
	java.Unregister(t, "b2")
	e = nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionDelete, e.Action)
	assert.Equal(t, "b2", e.Service.Nodes[0].Id)

	// A malformed instance is skipped and logged, never fatal.
	raw := rawConn(t, srv.Addr)
	_, err = raw.Create("/services/billing/junk", []byte(`{"name":"billing"}`), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	noEvent(t, w, 500*time.Millisecond)
	got, err = r.GetService(ctx, "billing")
	require.NoError(t, err)
	_, n = nodeByID(got, "junk")
	assert.Nil(t, n)

	// A SIGKILLed Java service goes when its session does.
	java.Kill()
	e = nextEvent(t, w, 10*2*time.Second+10*time.Second)
	assert.Equal(t, ActionDelete, e.Action)
	assert.Equal(t, "b1", e.Service.Nodes[0].Id)
	_, err = r.GetService(ctx, "billing")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestRegistryPublishesCuratorInstances(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	ctx := context.Background()
	raw := rawConn(t, srv.Addr)
	proxy := newProxy(t, srv.Addr)
	java := zktest.StartCurator(t, srv.Addr)
	java.Follow(t, "greeter")

	r := newTestRegistry(t, Options{Addrs: []string{proxy.Addr}, Timeout: 20 * time.Second,
		Settings: []Option{Curator(""), PublishCurator(true)}})
	s := svc("greeter", "1.2.0", "g1")
	s.Nodes[0].Address = "10.0.0.9:4100"
	require.NoError(t, r.Register(ctx, s))

	// Curator lists it, Spring reads it, and its own registry shows it
	// once.
	decodeFirst := func(raws []json.RawMessage) *Service {
		t.Helper()
		require.Len(t, raws, 1)
		got, err := decodeCuratorInstance(raws[0])
		require.NoError(t, err)
		return got
	}
	got := decodeFirst(java.Query(t, "greeter"))
	assert.Equal(t, "10.0.0.9:4100", got.Nodes[0].Address)
	assert.Equal(t, "1.2.0", got.Version)
	assert.Equal(t, CuratorOriginGoMicro, got.Nodes[0].Metadata[MetaCuratorOrigin])
	spring := java.Spring(t, "greeter")
	require.Len(t, spring, 1)
	assert.Equal(t, "10.0.0.9", spring[0].Host)
	assert.Equal(t, 4100, spring[0].Port)
	mine, err := r.GetService(ctx, "greeter")
	require.NoError(t, err)
	require.Len(t, mine, 1)
	assert.Len(t, mine[0].Nodes, 1, "published instances are read from our layout only")
	zktest.Eventually(t, 10*time.Second, func() bool {
		instances, _ := java.Cache("greeter")
		return len(instances) == 1
	}, "the ServiceCache never saw the instance")

	// Registering again writes nothing; SetNodeMetadata reaches Java.
	_, stat, err := raw.Get("/services/greeter/g1")
	require.NoError(t, err)
	require.NoError(t, r.Register(ctx, s))
	_, again, err := raw.Get("/services/greeter/g1")
	require.NoError(t, err)
	assert.Equal(t, stat.Mzxid, again.Mzxid)
	require.NoError(t, r.SetNodeMetadata(ctx, "greeter", "g1", map[string]string{MetaWeight: "3"}))
	zktest.Eventually(t, 10*time.Second, func() bool {
		sp := java.Spring(t, "greeter")
		return len(sp) == 1 && sp[0].Metadata[MetaWeight] == "3"
	}, "the new metadata never reached Spring's reader")

	// Owned like our own: deleted by hand, restored; expired, restored in
	// the new session.
	require.NoError(t, raw.Delete("/services/greeter/g1", -1))
	zktest.WaitFor(t, 10*time.Second, "the instance restored", func() error {
		_, st, err := raw.Get("/services/greeter/g1")
		if err == nil && st.EphemeralOwner != peekSessionID(r) {
			return assert.AnError
		}
		return err
	})
	sid := peekSessionID(r)
	proxy.Partition()
	zktest.Eventually(t, 10*testSessionTimeout, func() bool { return !srv.SessionAlive(sid) }, "the session never expired")
	proxy.Heal()
	zktest.WaitFor(t, 30*time.Second, "the instance restored in the new session", func() error {
		_, st, err := raw.Get("/services/greeter/g1")
		if err == nil && (st.EphemeralOwner == sid || st.EphemeralOwner == 0) {
			return assert.AnError
		}
		return err
	})
	assert.Len(t, java.Query(t, "greeter"), 1)

	// Deregister removes both.
	require.NoError(t, r.Deregister(ctx, s))
	for _, p := range []string{"/micro-registry/greeter/g1", "/services/greeter/g1"} {
		exists, _, err := raw.Exists(p)
		require.NoError(t, err)
		assert.False(t, exists, p)
	}
	zktest.Eventually(t, 10*time.Second, func() bool {
		instances, _ := java.Cache("greeter")
		return len(instances) == 0
	}, "the ServiceCache never saw the instance go")

	// A name Curator cannot store as it is is refused before anything is
	// written.
	err = r.Register(ctx, svc("a/b", "1", "x1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot be published in Curator's layout")
	kids, _, err := raw.Children("/micro-registry")
	require.NoError(t, err)
	assert.False(t, slices.Contains(kids, "a%2Fb"))
}
