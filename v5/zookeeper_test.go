package zookeeper

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v5/cmd"
	"go-micro.dev/v5/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestInitRegistersPlugin(t *testing.T) {
	t.Parallel()
	f, ok := cmd.DefaultRegistries["zookeeper"]
	require.True(t, ok, "init must register the plugin with go-micro v5's cmd")
	r := f()
	require.NotNil(t, r)
	assert.Equal(t, "zookeeper", r.String())
	require.NoError(t, r.(*zkRegistry).Close())
}

func TestNewRegistryDoesNotDial(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1; NewRegistry and Init must still return
	// at once, with no connection and no goroutine.
	r := NewRegistry(registry.Addrs("127.0.0.1:1")).(*zkRegistry)
	require.NoError(t, r.Init(registry.Addrs("127.0.0.1:2"), registry.Timeout(300*time.Millisecond)))
	assert.Equal(t, []string{"127.0.0.1:2"}, r.Options().Addrs)

	err := r.Register(svc("s", "1", "n1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `zookeeper: register service "s"`)
	assert.Contains(t, err.Error(), "127.0.0.1:2")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Error(t, r.Init(registry.Timeout(-1)), "invalid options are refused")
	assert.Equal(t, 300*time.Millisecond, r.Options().Timeout, "a refused Init changes nothing")
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
}

func TestRegisterGetDeregister(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})

	_, err := r.GetService("greeter")
	require.ErrorIs(t, err, registry.ErrNotFound)

	require.NoError(t, r.Register(svc("greeter", "1.0.0", "a", "b")))
	require.NoError(t, r.Register(svc("greeter", "2.0.0", "c")))
	got, err := r.GetService("greeter")
	require.NoError(t, err)
	require.Len(t, got, 2)
	byVersion := map[string]*registry.Service{}
	for _, s := range got {
		byVersion[s.Version] = s
	}
	assert.Equal(t, []string{"a", "b"}, nodeIDs([]*registry.Service{byVersion["1.0.0"]}))
	assert.Equal(t, []string{"c"}, nodeIDs([]*registry.Service{byVersion["2.0.0"]}))
	assert.Equal(t, "core", byVersion["1.0.0"].Metadata["team"])
	assert.Equal(t, "ha", byVersion["1.0.0"].Nodes[0].Metadata["host"])

	list, err := r.ListServices()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, nodeIDs(list))

	require.NoError(t, r.Deregister(svc("greeter", "1.0.0", "a", "b")))
	require.NoError(t, r.Deregister(svc("greeter", "2.0.0", "c")))
	zktest.Eventually(t, 5*time.Second, func() bool {
		_, err := r.GetService("greeter")
		return errors.Is(err, registry.ErrNotFound)
	}, "service still found after deregistering every node")
	// Deregistering what is not there is not an error.
	require.NoError(t, r.Deregister(svc("never", "1", "x")))
}

// wireGolden is what the go-micro v4 face (and the older plugin) stores
// for wireService's node: json.Marshal of go-micro v4's registry.Service
// with that one node, field order and all.
const wireGolden = `{"name":"go.micro.srv.greeter","version":"latest","metadata":{"team":"core"},` +
	`"endpoints":[{"request":{"name":"Request","type":"Request","values":[{"name":"name","type":"string","values":null}]},` +
	`"response":null,"metadata":null,"name":"Greeter.Hello"}],` +
	`"nodes":[{"metadata":{"host":"hgreeter-1"},"id":"greeter-1","address":"127.0.0.1:10000"}]}`

// wireService is the service whose stored bytes wireGolden pins.
func wireService() *registry.Service {
	s := svc("go.micro.srv.greeter", "latest", "greeter-1")
	s.Endpoints = []*registry.Endpoint{{
		Name:    "Greeter.Hello",
		Request: &registry.Value{Name: "Request", Type: "Request", Values: []*registry.Value{{Name: "name", Type: "string"}}},
	}}
	return s
}

// A v5 service's node is the same ephemeral znode, byte for byte, as a v4
// service's: that is what lets a fleet mix them during an upgrade.
func TestWireLayoutMatchesV4Face(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)

	s := wireService()
	require.NoError(t, r.Register(s))
	data, stat, err := raw.Get("/micro-registry/go.micro.srv.greeter/greeter-1")
	require.NoError(t, err)
	assert.Equal(t, wireGolden, string(data), "the v4 face's bytes")
	assert.Equal(t, r.sessionID(t), stat.EphemeralOwner, "node znodes are ephemeral, owned by the registry's session")
	v5JSON, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Equal(t, string(v5JSON), string(data), "go-micro v5's own encoding, too")
	_, rootStat, err := raw.Get("/micro-registry")
	require.NoError(t, err)
	assert.Zero(t, rootStat.EphemeralOwner, "the prefix is persistent")

	// A node written by a v4 service (here by hand, persistent as the
	// older plugin wrote them) reads back in v5's types.
	_, err = raw.Create("/micro-registry/go.micro.srv.greeter/v4-1",
		[]byte(strings.ReplaceAll(wireGolden, "greeter-1", "v4-1")), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	zktest.Eventually(t, 5*time.Second, func() bool {
		got, err := r.GetService("go.micro.srv.greeter")
		return err == nil && strings.Join(nodeIDs(got), ",") == "greeter-1,v4-1"
	}, "v4 registration not discovered")
	got, err := r.GetService("go.micro.srv.greeter")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "string", got[0].Endpoints[0].Request.Values[0].Type)
}

// A chroot in the address and Prefix place the same layout elsewhere.
func TestChrootAndPrefix(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	r := newTestRegistry(t, []string{srv.Addr + "/apps/prod"}, Prefix("/svc"))
	require.NoError(t, r.Register(svc("rooted", "1", "n1")))
	ok, _, err := raw.Exists("/apps/prod/svc/rooted/n1")
	require.NoError(t, err)
	assert.True(t, ok, "node under the chroot and prefix")
	got, err := r.GetService("rooted")
	require.NoError(t, err)
	assert.Equal(t, []string{"n1"}, nodeIDs(got))
}

func TestRegisterRejectsBadInput(t *testing.T) {
	t.Parallel()
	r := NewRegistry(registry.Addrs("127.0.0.1:1")).(*zkRegistry)
	defer r.Close()
	// What the engine refuses (its TestRegisterRejectsBadInput has every
	// case) is refused through go-micro v5's types too, nil values
	// included, with the engine's error and without dialing.
	nilEndpoint := svc("s", "1", "n1")
	nilEndpoint.Endpoints = []*registry.Endpoint{{Name: "E"}, nil}
	badMeta := svc("s", "1", "n1")
	badMeta.Nodes[0].Metadata["k"] = "\xff"
	tests := []struct {
		name string
		svc  *registry.Service
		want string
	}{
		{"nil service", nil, "service is nil"},
		{"nil node", &registry.Service{Name: "s", Nodes: []*registry.Node{nil}}, "node 0 is nil"},
		{"nil endpoint", nilEndpoint, "endpoint 1 is nil"},
		{"metadata not UTF-8", badMeta, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Register(tt.svc)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			assert.Equal(t, 1, strings.Count(err.Error(), "zookeeper: "), "prefix repeated: %s", err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	require.Error(t, r.Deregister(nil))
	_, err := r.GetService("")
	require.Error(t, err)
	assert.False(t, errors.Is(err, registry.ErrNotFound), "an empty name is refused, not missing")
	assert.Error(t, r.Init(SessionTimeout(time.Nanosecond)), "a session timeout under 1 ms")
	assert.Error(t, r.Init(Prefix("relative")), "a relative prefix")
	assert.Error(t, r.Init(ReadConcurrency(0)), "no reads in flight")
}

func TestWatch(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	w, err := r.Watch(registry.WatchService("watched"))
	require.NoError(t, err)
	s := wireService()
	s.Name = "watched"
	require.NoError(t, r.Register(s))
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, s, res.Service, "the node, converted field for field")

	// Stop unblocks a blocked Next.
	errc := make(chan error, 1)
	go func() { _, err := w.Next(); errc <- err }()
	time.Sleep(100 * time.Millisecond) // let Next block (it is also fine if it has not yet)
	w.Stop()
	w.Stop()
	select {
	case err := <-errc:
		assert.True(t, err == registry.ErrWatcherStopped, "go-micro's sentinel itself, got %v", err) //nolint:errorlint // the point
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not unblock Next")
	}

	// Cancelling WatchContext stops it.
	ctx, cancel := context.WithCancel(context.Background())
	w2, err := r.Watch(registry.WatchService("watched"), registry.WatchContext(ctx))
	require.NoError(t, err)
	cancel()
	_, err = nextWithin(w2, 5*time.Second)
	assert.True(t, err == registry.ErrWatcherStopped, "go-micro's sentinel itself, got %v", err) //nolint:errorlint // the point
}

func TestCloseStopsEverything(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	r := NewRegistry(registry.Addrs(srv.Addr)).(*zkRegistry)
	require.NoError(t, r.Register(svc("closing", "1", "n1")))
	w, err := r.Watch()
	require.NoError(t, err)

	require.NoError(t, r.Close())
	_, err = nextWithin(w, 10*time.Second)
	assert.ErrorIs(t, err, registry.ErrWatcherStopped, "Close stops the watchers")
	ok, _, err := raw.Exists("/micro-registry/closing/n1")
	require.NoError(t, err)
	assert.False(t, ok, "Close ends the session, which deletes its nodes at once")

	assert.ErrorIs(t, r.Register(svc("closing", "1", "n1")), engine.ErrClosed)
	_, err = r.GetService("closing")
	assert.ErrorIs(t, err, engine.ErrClosed)
	assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
	_, err = r.Watch()
	assert.ErrorIs(t, err, engine.ErrClosed)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); assert.NoError(t, r.Close()) }()
	}
	wg.Wait()
}

func TestRegistryFlagSelectsPlugin(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	for _, how := range []string{"flags", "env"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			name := "flagged-" + how
			env := []string{"ZK_SERVICE=" + name}
			var args []string
			if how == "flags" {
				args = []string{"--registry=zookeeper", "--registry_address=" + srv.Addr}
			} else {
				env = append(env, "MICRO_REGISTRY=zookeeper", "MICRO_REGISTRY_ADDRESS="+srv.Addr)
			}
			c := startChild(t, "micro", env, args...)
			zktest.Eventually(t, 30*time.Second, func() bool {
				ch, _, err := raw.Children("/micro-registry/" + name)
				return err == nil && len(ch) == 1
			}, "go-micro v5 service with --registry=zookeeper did not register")
			// go-micro deregisters on SIGTERM.
			require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
			zktest.Eventually(t, 15*time.Second, func() bool {
				ch, _, err := raw.Children("/micro-registry/" + name)
				return (err == nil && len(ch) == 0) || errors.Is(err, zk.ErrNoNode)
			}, "service did not deregister on SIGTERM")
		})
	}
}
