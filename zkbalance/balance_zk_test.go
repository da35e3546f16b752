package zkbalance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Three servers, one five times slower: the strategy sends the slow one a
// small share of the requests, where go-micro's Random and RoundRobin send
// it a third. Each server has two slots (a machine with two cores), so
// the slow one also queues sooner. A perfect balance of the requests in
// flight would send it about 9%; the shares are asserted with wide
// margins, LeastLoaded's wider (it sees loads up to a second old, and
// follows them in bursts; NewSelector adds what the client knows now). The
// latencies are logged, and measured by the benchmark (make
// bench-balance).
func TestLeastLoadedSendsTheSlowServerASmallShare(t *testing.T) {
	zk := zktest.Start(t)
	startServer(t, zk.Addr, "fast-1", 20*time.Millisecond, 2, nil)
	startServer(t, zk.Addr, "fast-2", 20*time.Millisecond, 2, nil)
	slow := startServer(t, zk.Addr, "slow", 100*time.Millisecond, 2, nil)
	reg := newRegistry(t, zk.Addr)

	shares := map[string]float64{}
	blindCalls, blindSlow := 0, 0 // Random's and RoundRobin's together
	for _, s := range []struct {
		name    string
		sel     selector.Selector
		measure time.Duration
	}{
		{"Random", selector.NewSelector(selector.Registry(reg), selector.SetStrategy(selector.Random)), 3 * time.Second},
		{"RoundRobin", selector.NewSelector(selector.Registry(reg), selector.SetStrategy(selector.RoundRobin)), 3 * time.Second},
		{"LeastLoaded", selector.NewSelector(selector.Registry(reg), selector.SetStrategy(LeastLoaded())), 5 * time.Second},
		{"NewSelector", NewSelector(selector.Registry(reg)), 4 * time.Second},
	} {
		c := newClient(t, reg, s.sel)
		drive(c, 4, 1500*time.Millisecond) // the loads of this traffic get published
		tr := drive(c, 4, s.measure)
		require.Positive(t, tr.total())
		require.Zero(t, tr.failed, "%s: calls failed", s.name)
		shares[s.name] = tr.share(slow.id)
		if s.name == "Random" || s.name == "RoundRobin" {
			blindCalls += tr.total()
			blindSlow += tr.picks[slow.id]
		}
		t.Logf("%-11s %5d calls, %4.1f%% to the slow server, p50 %v, p99 %v",
			s.name, tr.total(), 100*tr.share(slow.id), tr.quantile(0.5).Round(time.Millisecond), tr.quantile(0.99).Round(time.Millisecond))
	}
	// Random and RoundRobin together, for enough calls (few: the slow
	// server makes them queue): about a third.
	assert.Greater(t, float64(blindSlow)/float64(blindCalls), 0.25, "Random and RoundRobin ignore the load")
	assert.Less(t, shares["LeastLoaded"], 0.26, "LeastLoaded: the slow server's share")
	assert.Less(t, shares["NewSelector"], 0.2, "NewSelector: the slow server's share")
}

// An operator drains a node (engine SetStatus, what zkmicro drain calls)
// of servers whose registrations are protected by credentials: clients
// using the strategy stop sending it requests, and send again once it is
// undrained, without any server restarting.
func TestDrainTakesANodeOutAndUndrainBringsItBack(t *testing.T) {
	zk := zktest.Start(t)
	creds := zookeeper.Auth("digest", []byte("svc:secret"))
	var servers []*testServer
	for _, name := range []string{"a", "b", "c"} {
		servers = append(servers, startServer(t, zk.Addr, name, 2*time.Millisecond, 4, nil, creds))
	}
	drained := servers[1]
	reg := newRegistry(t, zk.Addr)
	c := newClient(t, reg, selector.NewSelector(selector.Registry(reg), selector.SetStrategy(LeastLoaded())))
	calls := record(t, c, 3)
	zktest.Eventually(t, 30*time.Second, func() bool {
		return count(calls.since(time.Time{}), drained.id) > 0
	}, "the node never got a request")

	// Without the credentials, refused; with them, drained.
	stranger := newRegistry(t, zk.Addr).(interface{ Engine() *engine.Registry }).Engine()
	require.Error(t, stranger.SetStatus(context.Background(), service, drained.id, engine.StatusDraining))
	operator := newRegistry(t, zk.Addr, creds).(interface{ Engine() *engine.Registry }).Engine()
	require.NoError(t, operator.SetStatus(context.Background(), service, drained.id, engine.StatusDraining))
	drainedAt := time.Now()
	// Within a second on a quiet machine; the bound allows for a busy one.
	var out time.Time
	zktest.WaitFor(t, 10*time.Second, "a second without a request to the drained node", func() error {
		picks := calls.since(drainedAt)
		last := drainedAt
		for _, p := range picks {
			if p.node == drained.id {
				last = p.at
			}
		}
		if time.Since(last) < time.Second || len(calls.since(last)) < 10 {
			return assert.AnError
		}
		out = last
		return nil
	})
	t.Logf("the last request to the drained node was sent %v after the drain", out.Sub(drainedAt).Round(time.Millisecond))
	recent := calls.since(time.Now().Add(-time.Second))
	assert.Positive(t, count(recent, servers[0].id), "the others serve")
	assert.Positive(t, count(recent, servers[2].id), "the others serve")
	for _, p := range recent {
		assert.NoError(t, p.err)
	}

	// The owner keeps the status at its next registration.
	require.NoError(t, drained.srv.(interface{ Register() error }).Register())
	md := nodeMetadata(t, reg, drained.id)
	assert.Equal(t, engine.StatusDraining, md[engine.MetaStatus])

	require.NoError(t, operator.SetStatus(context.Background(), service, drained.id, ""))
	undrainedAt := time.Now()
	zktest.Eventually(t, 10*time.Second, func() bool {
		return count(calls.since(undrainedAt), drained.id) > 0
	}, "the undrained node never got a request again")
}

// nodeMetadata returns the metadata of node id of the tests' service, as
// reg reads it.
func nodeMetadata(t *testing.T, reg registry.Registry, id string) map[string]string {
	t.Helper()
	var md map[string]string
	zktest.WaitFor(t, zkTimeout, "the node", func() error {
		svcs, err := reg.GetService(service)
		if err != nil {
			return err
		}
		for _, s := range svcs {
			for _, n := range s.Nodes {
				if n.Id == id {
					md = n.Metadata
					return nil
				}
			}
		}
		return registry.ErrNotFound
	})
	return md
}

// A node that keeps failing is ejected from NewSelector's choice after
// Failures consecutive failures, for Backoff, without any registry change;
// then it is let back.
func TestEjectedNodeComesBackAfterItsBackoff(t *testing.T) {
	zk := zktest.Start(t)
	good := startServer(t, zk.Addr, "good", time.Millisecond, 4, nil)
	bad := startServer(t, zk.Addr, "bad", time.Millisecond, 4, nil)
	reg := newRegistry(t, zk.Addr)
	const backoff = 3 * time.Second
	sel := NewSelector(selector.Registry(reg), Failures(2), Backoff(backoff))
	c := newClient(t, reg, sel)
	// picks reports whether 200 picks (no calls) include each node: with
	// two nodes, a node that may be picked is, but for 2^-200.
	picks := func() map[string]bool {
		next, err := sel.Select(service)
		require.NoError(t, err)
		seen := map[string]bool{}
		for range 200 {
			n, err := next()
			require.NoError(t, err)
			seen[n.Id] = true
			// No call: the pick's count in flight ends without a result
			// (Mark would report a success).
			sel.(*zkSelector).inFlight.Done(nodeKey(service, n.Id))
		}
		return seen
	}
	zktest.Eventually(t, 30*time.Second, func() bool {
		seen := picks()
		return seen[good.id] && seen[bad.id]
	}, "both nodes are never picked")

	bad.worker.fail.Store(true)
	var ejected time.Time
	zktest.Eventually(t, 30*time.Second, func() bool {
		_, _ = call(context.Background(), c)
		if picks()[bad.id] {
			return false
		}
		ejected = time.Now()
		return true
	}, "the failing node is never ejected")
	// Ejected for the backoff: checked during its first third.
	for time.Since(ejected) < backoff/3 {
		require.False(t, picks()[bad.id], "picked %v after its ejection", time.Since(ejected))
		served := bad.worker.served.Load()
		_, err := call(context.Background(), c)
		require.NoError(t, err, "the calls go to the good node")
		require.Equal(t, served, bad.worker.served.Load(), "a request reached the ejected node")
	}

	bad.worker.fail.Store(false)
	zktest.Eventually(t, backoff+30*time.Second, func() bool { return picks()[bad.id] }, "the node is never let back")
	assert.GreaterOrEqual(t, time.Since(ejected), backoff-100*time.Millisecond, "let back before its backoff")
	served := bad.worker.served.Load()
	zktest.Eventually(t, 30*time.Second, func() bool {
		_, err := call(context.Background(), c)
		return err == nil && bad.worker.served.Load() > served
	}, "the node let back never serves")
}

// However busy the server (here 10,000 requests a second through its
// wrapper, whose load swings every 300 ms), its node's znode is written at
// most once per Interval.
func TestWritesPerNodeStayWithinTheBoundAt10kRequestsPerSecond(t *testing.T) {
	zk := zktest.Start(t)
	const interval = 200 * time.Millisecond
	s := startServer(t, zk.Addr, "busy", 0, 1, []Option{Interval(interval)})
	raw := rawConn(t, zk.Addr)
	p := "/micro-registry/" + service + "/" + s.id
	zktest.Eventually(t, zkTimeout, func() bool { ok, _, err := raw.Exists(p); return err == nil && ok }, "the node is never registered")
	_, before, err := raw.Exists(p)
	require.NoError(t, err)

	const (
		rate     = 10_000 // requests a second
		duration = 3 * time.Second
	)
	start := time.Now()
	sent := pace(s.load, rate, duration)
	elapsed := time.Since(start)
	_, after, err := raw.Exists(p)
	require.NoError(t, err)

	writes := int(after.Version - before.Version)
	bound := int(elapsed/interval) + 1
	t.Logf("%d requests in %v (%.0f/s): %d writes of the node (%.1f/s), bound %d", sent, elapsed.Round(time.Millisecond),
		float64(sent)/elapsed.Seconds(), writes, float64(writes)/elapsed.Seconds(), bound)
	assert.GreaterOrEqual(t, float64(sent)/elapsed.Seconds(), rate/2.0, "the requests were not sent at the rate")
	assert.LessOrEqual(t, writes, bound, "writes per interval")
	assert.GreaterOrEqual(t, writes, 3, "the swinging load is published")
}
