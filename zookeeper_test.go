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
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/util/cmd"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestInitRegistersPlugin(t *testing.T) {
	t.Parallel()
	f, ok := cmd.DefaultRegistries["zookeeper"]
	require.True(t, ok, "init must register the plugin with go-micro's cmd")
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

	start := time.Now()
	err := r.Register(svc("s", "1", "n1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `zookeeper: register service "s"`)
	assert.Contains(t, err.Error(), "127.0.0.1:2")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second, "registry.Timeout must bound the wait")
	assert.Error(t, r.Init(registry.Timeout(-1)), "invalid options are refused")
	assert.Equal(t, 300*time.Millisecond, r.Options().Timeout, "a refused Init changes nothing")
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
}

// The go-micro contract end to end, in go-micro's types: what Register
// was given comes back from a Watcher, GetService and ListServices,
// converted field for field and owned by the caller, and go-micro's
// sentinels are returned themselves. What each call does is tested in
// internal/engine (registry_zk_test.go and the rest).
func TestGoMicroRoundTrip(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})

	_, err := r.GetService("greeter")
	assert.True(t, err == registry.ErrNotFound, "go-micro's sentinel itself, got %v", err) //nolint:errorlint // the point
	w, err := r.Watch(registry.WatchService("greeter"))
	require.NoError(t, err)

	s := svc("greeter", "1.0.0", "a")
	s.Endpoints = []*registry.Endpoint{{
		Name:     "Greeter.Hello",
		Metadata: map[string]string{"stream": "false"},
		Request:  &registry.Value{Name: "Request", Type: "Request", Values: []*registry.Value{{Name: "name", Type: "string"}}},
	}}
	require.NoError(t, r.Register(s))
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, s, res.Service)
	got, err := r.GetService("greeter")
	require.NoError(t, err)
	assert.Equal(t, []*registry.Service{s}, got)
	list, err := r.ListServices()
	require.NoError(t, err)
	assert.Equal(t, []*registry.Service{s}, list)

	// Results are copies: changing them does not change the registry.
	got[0].Nodes = nil
	list[0].Metadata["changed"] = "by the caller"
	res.Service.Endpoints[0].Request.Values = nil
	again, err := r.GetService("greeter")
	require.NoError(t, err)
	assert.Equal(t, []*registry.Service{s}, again)

	require.NoError(t, r.Deregister(s))
	res = next(t, w, 10*time.Second)
	assert.Equal(t, "delete", res.Action)
	assert.Equal(t, s, res.Service, "a delete carries the node as last reported")
	zktest.Eventually(t, 5*time.Second, func() bool {
		_, err := r.GetService("greeter")
		return err == registry.ErrNotFound //nolint:errorlint // the sentinel itself
	}, "GetService does not return registry.ErrNotFound itself once every node is deregistered")

	// Stop, a cancelled WatchContext and Close end Next with
	// registry.ErrWatcherStopped itself.
	w.Stop()
	_, err = w.Next()
	assert.True(t, err == registry.ErrWatcherStopped, "after Stop: %v", err) //nolint:errorlint // the point
	ctx, cancel := context.WithCancel(context.Background())
	w2, err := r.Watch(registry.WatchContext(ctx))
	require.NoError(t, err)
	cancel()
	_, err = nextWithin(w2, 5*time.Second)
	assert.True(t, err == registry.ErrWatcherStopped, "after WatchContext ended: %v", err) //nolint:errorlint // the point
	w3, err := r.Watch()
	require.NoError(t, err)
	require.NoError(t, r.Close())
	_, err = nextWithin(w3, 10*time.Second)
	assert.True(t, err == registry.ErrWatcherStopped, "after Close: %v", err) //nolint:errorlint // the point
}

// Two versions of one service, and their nodes, come back from
// GetService and ListServices in go-micro's types; deregistering what is
// not there is no error.
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

// wireGolden is the znode of wireService's node as the older plugin
// (github.com/go-micro/plugins/v4/registry/zookeeper) stored it:
// json.Marshal of go-micro's registry.Service with that one node, field
// order and all. Each registry face's copy of TestWireLayoutMatchesOldPlugin
// pins it, so services of either go-micro line read each other's nodes: a
// fleet can mix them during an upgrade.
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

// A node is an ephemeral znode at /micro-registry/<name>/<id> holding the
// bytes the older plugin stored; a node that plugin wrote is discovered.
func TestWireLayoutMatchesOldPlugin(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, []string{srv.Addr})
	raw := rawConn(t, srv.Addr)

	s := wireService()
	require.NoError(t, r.Register(s))
	data, stat, err := raw.Get("/micro-registry/go.micro.srv.greeter/greeter-1")
	require.NoError(t, err)
	assert.Equal(t, wireGolden, string(data), "the older plugin's bytes")
	assert.Equal(t, r.sessionID(t), stat.EphemeralOwner, "node znodes are ephemeral, owned by the registry's session")
	own, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Equal(t, string(own), string(data), "go-micro's own encoding of the service, too")

	// (That service directories are containers is TestContainerDirectoryIsRemovedWhenEmpty.)
	_, rootStat, err := raw.Get("/micro-registry")
	require.NoError(t, err)
	assert.Zero(t, rootStat.EphemeralOwner, "the prefix is persistent")

	// A registration written the older plugin's way (persistent, by
	// another client) is discovered, and reads back in go-micro's types.
	_, err = raw.Create("/micro-registry/go.micro.srv.greeter/old-1",
		[]byte(strings.ReplaceAll(wireGolden, "greeter-1", "old-1")), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	zktest.Eventually(t, 5*time.Second, func() bool {
		got, err := r.GetService("go.micro.srv.greeter")
		return err == nil && strings.Join(nodeIDs(got), ",") == "greeter-1,old-1"
	}, "old plugin's registration not discovered")
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

// What the engine refuses (its TestRegisterRejectsBadInput has every
// case) is refused through go-micro's types too, nil values included,
// with the engine's error and without dialing.
func TestRegisterRejectsBadInput(t *testing.T) {
	t.Parallel()
	r := NewRegistry(registry.Addrs("127.0.0.1:1")).(*zkRegistry)
	defer r.Close()
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

// A change arrives as a Result holding the node converted field for field;
// Stop, idempotent, unblocks a blocked Next, and Stop or an ended
// WatchContext make Next return registry.ErrWatcherStopped itself.
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

// Close stops the watchers and ends the session, which deletes the
// registry's nodes at once; every later call fails with the engine's
// ErrClosed, and Close, idempotent, is safe concurrently.
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
			}, "go-micro service with --registry=zookeeper did not register")
			// go-micro deregisters on SIGTERM.
			require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
			zktest.Eventually(t, 15*time.Second, func() bool {
				ch, _, err := raw.Children("/micro-registry/" + name)
				return (err == nil && len(ch) == 0) || errors.Is(err, zk.ErrNoNode)
			}, "service did not deregister on SIGTERM")
		})
	}
}

// A go-micro service given only --registry_address and the TLS
// environment variables registers over TLS: the face hands go-micro's
// flags to the engine, which reads the environment (its TestTLS checks
// TLS itself).
func TestRegistryFlagWithTLSFromEnvironment(t *testing.T) {
	for _, v := range []string{EnvAuth, EnvTLS, EnvTLSCA, EnvTLSCert, EnvTLSKey, EnvTLSServerName} {
		t.Setenv(v, "")
	}
	srv, secureAddr, pki := zktest.StartTLS(t)
	raw := rawConn(t, srv.Addr) // a plaintext observer on the same server
	const name = "micro-tls"
	env := []string{"ZK_SERVICE=" + name, EnvTLSCA + "=" + pki.CAFile, EnvTLSCert + "=" + pki.ClientCertFile, EnvTLSKey + "=" + pki.ClientKeyFile}
	startChild(t, "micro", env, "--registry=zookeeper", "--registry_address="+secureAddr)
	zktest.Eventually(t, 30*time.Second, func() bool {
		ch, _, err := raw.Children("/micro-registry/" + name)
		return err == nil && len(ch) == 1
	}, "a go-micro service given --registry_address and %s did not register over TLS", EnvTLSCA)
}
