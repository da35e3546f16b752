package zkresolver

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// A server SIGKILLed with its process leaves the resolver's list once its
// session expires; meanwhile round_robin calls go to the live node.
func TestKilledServerLeavesOnceItsSessionExpires(t *testing.T) {
	zk := zktest.Start(t)
	reg := newRegistry(t, zk.Addr)
	live := startHealthServer(t)
	require.NoError(t, reg.Register(node("greeter", "1.0.0", "live", live.addr, nil)))
	proc, addr := startChild(t, "server", "ZK_ADDR="+zk.Addr, "ZK_SERVICE=greeter", "ZK_NODE=killed",
		"ZK_SESSION_TIMEOUT="+sessionTimeout.String())
	rec := &recorder{}
	conn := dial(t, recordingBuilder{NewBuilder(reg), rec}, "zookeeper:///greeter", roundRobin)
	waitAnswering(t, conn, "calls on both nodes", live.addr, addr)

	proc.kill()
	killed := time.Now()
	waitAnswering(t, conn, "calls on the live node once the killed one's connection is gone", live.addr)
	rec.waitState(t, "the killed node gone from the list after its session timeout", "live@"+live.addr)
	t.Logf("the killed node left the list %v after SIGKILL (session timeout %v)", time.Since(killed).Round(time.Millisecond), sessionTimeout)
}

// Across a partition long enough for the registry's session to expire, the
// resolver converges on what ZooKeeper holds (another process's changes
// included) and never reports the nodes its own registry registered as
// gone: the registry restores them before its watchers look. A resolver
// built during the partition starts from the restored nodes too. With
// mirror reads off, the resolver's starting point is read from ZooKeeper.
func TestOwnNodesAreNeverReportedGoneAcrossAnExpiry(t *testing.T) {
	for _, mirrorReads := range []bool{true, false} {
		t.Run(fmt.Sprintf("mirror reads %v", mirrorReads), func(t *testing.T) {
			zk := zktest.Start(t)
			proxy, err := faultproxy.New(zk.Addr)
			require.NoError(t, err)
			t.Cleanup(func() { _ = proxy.Close() })
			own := newRegistry(t, proxy.Addr, zookeeper.MirrorReads(mirrorReads))
			observer := newRegistry(t, zk.Addr)
			require.NoError(t, own.Register(node("svc", "1", "s1", "10.0.0.1:1", nil)))
			require.NoError(t, own.Register(node("svc", "1", "s2", "10.0.0.2:1", nil)))
			require.NoError(t, observer.Register(node("svc", "1", "o0", "10.0.1.0:1", nil)))
			ownNodes := []string{"s1@10.0.0.1:1", "s2@10.0.0.2:1"}
			rec, _ := build(t, own, "zookeeper:///svc")
			rec.waitState(t, "the starting nodes", append(ownNodes, "o0@10.0.1.0:1")...)
			seen, _ := build(t, observer, "zookeeper:///svc")
			seen.waitState(t, "the observer's starting nodes", append(ownNodes, "o0@10.0.1.0:1")...)
			oldSession := own.(interface{ Engine() *engine.Registry }).Engine().Client().SessionID()

			proxy.Partition()
			late, _ := build(t, own, "zookeeper:///svc")
			seen.waitState(t, "the observer seeing the partitioned session expire", "o0@10.0.1.0:1")
			require.NoError(t, observer.Deregister(node("svc", "1", "o0", "10.0.1.0:1", nil)))
			require.NoError(t, observer.Register(node("svc", "1", "o1", "10.0.1.1:1", nil)))
			proxy.Heal()

			want := append(ownNodes, "o1@10.0.1.1:1")
			rec.waitState(t, "the resolver converging after the expiry", want...)
			late.waitState(t, "the resolver built during the partition converging", want...)
			newSession := own.(interface{ Engine() *engine.Registry }).Engine().Client().SessionID()
			require.NotEqual(t, oldSession, newSession, "the session expired")
			for name, r := range map[string]*recorder{"resolver": rec, "resolver built during the partition": late} {
				history := r.history()
				for i, state := range history {
					for _, n := range ownNodes {
						require.True(t, slices.Contains(state, n), "%s: state %d of %v lacks own node %s", name, i, history, n)
					}
				}
				t.Logf("%s: states %v", name, history)
			}
		})
	}
}
