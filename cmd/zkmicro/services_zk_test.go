package main

import (
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestBinaryServicesAndGetReadZooKeeper(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	reg := newZKRegistry(t, srv.Addr)
	registerFleet(t, reg)
	// A chroot is a registry of its own.
	other := newZKRegistry(t, srv.Addr+"/apps/prod")
	register(t, other, "billing", "2.0.0", "billing-1", "10.0.0.4:4300", nil)

	r := runBinary(t, nil, zkArgs(srv.Addr, "services")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	require.Equal(t, ""+
		"NAME     VERSION  NODES\n"+
		"auth     -        1\n"+
		"greeter  1.0.0    2\n"+
		"greeter  1.1.0    1\n",
		r.stdout)
	require.Empty(t, r.stderr)

	r = runBinary(t, nil, zkArgs(srv.Addr, "services", "-o", "json")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	require.JSONEq(t, `[
		{"name": "auth", "version": "", "node_count": 1, "origin": "go-micro"},
		{"name": "greeter", "version": "1.0.0", "node_count": 2, "origin": "go-micro"},
		{"name": "greeter", "version": "1.1.0", "node_count": 1, "origin": "go-micro"}
	]`, r.stdout)

	r = runBinary(t, nil, zkArgs(srv.Addr, "get", "greeter")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	require.Equal(t, ""+
		"VERSION  ID         ADDRESS        METADATA\n"+
		"1.0.0    greeter-1  10.0.0.7:4100  host=a\n"+
		"1.0.0    greeter-2  10.0.0.8:4100  protocol=mucp,registry=zookeeper\n"+
		"1.1.0    greeter-3  10.0.0.9:4100  -\n",
		r.stdout)

	r = runBinary(t, nil, zkArgs(srv.Addr, "get", "-o", "json", "greeter")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	var got []*registry.Service
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	want, err := reg.GetService("greeter")
	require.NoError(t, err)
	require.Equal(t, sortServices(want), got, "what GetService returns, sorted")

	r = runBinary(t, nil, zkArgs(srv.Addr, "get", "nope")...)
	require.Equal(t, exitError, r.code)
	require.Equal(t, "zkmicro: get \"nope\": service not found\n", r.stderr)
	require.Empty(t, r.stdout)

	r = runBinary(t, []string{"MICRO_REGISTRY_ADDRESS=" + srv.Addr + "/apps/prod"}, "services")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	require.Equal(t, "NAME     VERSION  NODES\nbilling  2.0.0    1\n", r.stdout, "the chroot from the environment")
}

// blackhole accepts TCP connections and never answers, as a hung server
// does. It is closed at the end of the test.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex // guards conns
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestBinaryUnreachableZooKeeperExitsOneNamingTheAddress(t *testing.T) {
	t.Parallel()
	servers := map[string]string{"closed port": closedPort(t), "server that never answers": blackhole(t)}
	for name, addr := range servers {
		for _, cmd := range [][]string{
			{"services"}, {"get", "greeter"}, {"watch"}, {"prune"}, {"doctor"},
			{"config", "get"}, {"config", "set", "greeting", "Hi"}, {"config", "delete", "greeting"}, {"config", "watch"},
		} {
			t.Run(name+"/"+strings.Join(cmd, " "), func(t *testing.T) {
				t.Parallel()
				r := runBinary(t, nil, append(registryArgs(addr), append([]string{"--registry_timeout", "1s"}, cmd...)...)...)

				require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
				assert.True(t, strings.HasPrefix(r.stderr, "zkmicro: "), r.stderr)
				assert.Contains(t, r.stderr, addr, "the error names the address")
			})
		}
	}
}
