package zkprom_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
	"github.com/zkmicro/zookeeper/zkprom"
)

// The metric names the tests read.
const (
	established   = "micro_registry_zookeeper_sessions_established_total"
	expirations   = "micro_registry_zookeeper_session_expirations_total"
	disconnects   = "micro_registry_zookeeper_disconnects_total"
	restored      = "micro_registry_zookeeper_restored_nodes_total"
	watchEvents   = "micro_registry_zookeeper_watch_events_total"
	registered    = "micro_registry_zookeeper_registered_nodes"
	ownedNodes    = "micro_registry_zookeeper_owned_nodes"
	mirroredSvcs  = "micro_registry_zookeeper_mirrored_services"
	mirroredNodes = "micro_registry_zookeeper_mirrored_nodes"
	watchers      = "micro_registry_zookeeper_watchers"
	callErrors    = "micro_registry_zookeeper_call_errors_total"
	callDuration  = "micro_registry_zookeeper_call_duration_seconds"
)

func TestNewCollectorRefusesForeignRegistries(t *testing.T) {
	for name, r := range map[string]registry.Registry{
		"memory": registry.NewMemoryRegistry(),
		"mdns":   newMDNSRegistry(),
		"nil":    nil,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := zkprom.NewCollector(r)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, zkprom.ErrNotZooKeeper)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			assert.Equal(t, 1, strings.Count(err.Error(), "zookeeper: "), err.Error())
			if r != nil {
				assert.Contains(t, err.Error(), fmt.Sprintf("%q", r.String()))
			}
		})
	}
}

// A registry that never dialled has a collector all the same, and it
// passes Prometheus's lint with every metric at zero.
func TestCollectorOfUnusedRegistry(t *testing.T) {
	r := zookeeper.NewRegistry(registry.Addrs("127.0.0.1:1"))
	defer r.(io.Closer).Close()
	c, err := zkprom.NewCollector(r)
	require.NoError(t, err)
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
	m := scrape(t, c)
	for _, name := range []string{established, expirations, disconnects, restored, watchEvents, registered, ownedNodes, mirroredSvcs, mirroredNodes, watchers} {
		assert.Zero(t, m.value(name), name)
	}
	for _, op := range ops {
		assert.Zero(t, m.calls(op), op)
	}
}

// ops are the values of the op label.
var ops = []string{"register", "deregister", "get_service", "list_services", "watch"}

// A registry behind a fault proxy lives through calls, a failed call, watch
// traffic, a disconnect and a session expiry; its metrics follow.
func TestCollectorFollowsRegistryThroughSessionExpiry(t *testing.T) {
	srv := zktest.Start(t)
	proxy, err := faultproxy.New(srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })
	quiet := registry.Logger(discardLogger{})
	// A partition longer than the 2 s session timeout (10 ticks) expires
	// the session.
	r := zookeeper.NewRegistry(registry.Addrs(proxy.Addr), zookeeper.SessionTimeout(2*time.Second), quiet)
	t.Cleanup(func() { _ = r.(io.Closer).Close() })
	observer := zookeeper.NewRegistry(registry.Addrs(srv.Addr), quiet)
	t.Cleanup(func() { _ = observer.(io.Closer).Close() })
	c, err := zkprom.NewCollector(r)
	require.NoError(t, err)

	// Calls: one of each, and one that fails; a lookup that finds nothing
	// is no error.
	const owned = 5
	svc := service("metrics", ids("n", owned)...)
	require.NoError(t, r.Register(svc))
	require.Error(t, r.Register(&registry.Service{Version: "1"}), "a service without a name is refused")
	extra := service("metrics", "extra")
	require.NoError(t, r.Register(extra))
	require.NoError(t, r.Deregister(extra))
	w, err := r.Watch(registry.WatchService("metrics"))
	require.NoError(t, err)
	_, err = r.GetService("metrics")
	require.NoError(t, err)
	_, err = r.GetService("no-such-service")
	require.ErrorIs(t, err, registry.ErrNotFound)
	_, err = r.ListServices()
	require.NoError(t, err)

	zktest.Eventually(t, 10*time.Second, func() bool { return scrape(t, c).value(ownedNodes) == owned },
		"owned_nodes never reached %d", owned)
	m := scrape(t, c)
	assert.Equal(t, float64(owned), m.value(registered), "the deregistered node is not counted")
	assert.Equal(t, 1.0, m.value(established))
	assert.Equal(t, 1.0, m.value("micro_registry_zookeeper_connected"))
	assert.Zero(t, m.value(expirations))
	assert.Zero(t, m.value(disconnects))
	assert.Zero(t, m.value(restored))
	assert.Equal(t, 1.0, m.value(watchers))
	assert.GreaterOrEqual(t, m.value(mirroredSvcs), 1.0)
	assert.Equal(t, float64(owned), m.value(mirroredNodes))
	assertCalls(t, m, map[string][2]uint64{ // op: calls, errors
		"register": {3, 1}, "deregister": {1, 0}, "get_service": {2, 0}, "list_services": {1, 0}, "watch": {1, 0},
	})
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)

	// Watch traffic: another process registers a node of the watched
	// service; the watch event it fires is counted, and the mirror holds
	// the node.
	events := m.value(watchEvents)
	require.NoError(t, observer.Register(service("metrics", "other")))
	zktest.Eventually(t, 10*time.Second, func() bool {
		m := scrape(t, c)
		return m.value(watchEvents) > events && m.value(mirroredNodes) == owned+1
	}, "the observer's node was neither counted as a watch event nor mirrored")

	// A partition: the connection is lost (a disconnect), a call fails,
	// and the session expires in ZooKeeper.
	proxy.Partition()
	zktest.Eventually(t, 10*time.Second, func() bool { return scrape(t, c).value(disconnects) >= 1 },
		"the lost connection was not counted")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	moved := service("metrics", "n0")
	moved.Nodes[0].Address = "127.0.0.1:20000"
	require.Error(t, r.Register(moved, registry.RegisterContext(ctx)), "no write goes through a partition")
	assert.Equal(t, float64(owned), scrape(t, c).value(registered), "a registration that failed for want of ZooKeeper is kept")
	zktest.Eventually(t, 20*time.Second, func() bool {
		svcs, err := observer.GetService("metrics")
		return err == nil && len(svcs) == 1 && len(svcs[0].Nodes) == 1
	}, "the partitioned registry's nodes outlived its session")

	// Healed: the registry learns of the expiry, establishes a new
	// session and restores every node it registered, n0 with its new
	// address.
	proxy.Heal()
	zktest.WaitFor(t, 20*time.Second, "the expiry and the restore counted", func() error {
		m := scrape(t, c)
		if m.value(expirations) == 1 && m.value(restored) == owned && m.value(ownedNodes) == owned {
			return nil
		}
		return fmt.Errorf("%s %v, %s %v, %s %v", expirations, m.value(expirations), restored, m.value(restored), ownedNodes, m.value(ownedNodes))
	})
	m = scrape(t, c)
	assert.Equal(t, 2.0, m.value(established), "the first session and the one after the expiry")
	assert.GreaterOrEqual(t, m.value(disconnects), 1.0)
	assert.Equal(t, 4.0, m.calls("register"))
	assert.Equal(t, 2.0, m.errors("register"), "the Register during the partition failed")
	zktest.Eventually(t, 10*time.Second, func() bool {
		svcs, err := observer.GetService("metrics")
		if err != nil {
			return false
		}
		for _, s := range svcs {
			for _, n := range s.Nodes {
				if n.Id == "n0" {
					return n.Address == "127.0.0.1:20000"
				}
			}
		}
		return false
	}, "n0 was not restored with its latest address")

	// Stopping the watcher unsubscribes it; a closed registry still
	// reports its last counts.
	w.Stop()
	zktest.Eventually(t, 10*time.Second, func() bool { return scrape(t, c).value(watchers) == 0 },
		"the stopped watcher is still counted")
	require.NoError(t, r.(io.Closer).Close())
	m = scrape(t, c)
	assert.Equal(t, 2.0, m.value(established), "a closed registry keeps its counts")
	assert.Equal(t, 1.0, m.value(expirations))
	assert.Equal(t, float64(owned), m.value(restored))
	problems, err = testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems, "a closed registry's last counts")
}

// assertCalls checks the call count and error count of each op.
func assertCalls(t *testing.T, m metrics, want map[string][2]uint64) {
	t.Helper()
	for op, w := range want {
		assert.Equal(t, float64(w[0]), m.calls(op), "calls of %s", op)
		assert.Equal(t, float64(w[1]), m.errors(op), "errors of %s", op)
	}
}

// metrics is one scrape: unlabelled values by name, and per op the call
// count (from the duration histogram) and the error count.
type metrics struct {
	values     map[string]float64
	callCounts map[string]float64
	errCounts  map[string]float64
}

// value is the value of the unlabelled counter or gauge name; -1 if the
// scrape has none, so that a missing metric never passes for a zero.
func (m metrics) value(name string) float64 {
	v, ok := m.values[name]
	if !ok {
		return -1
	}
	return v
}

func (m metrics) calls(op string) float64  { return m.callCounts[op] }
func (m metrics) errors(op string) float64 { return m.errCounts[op] }

// scrape collects c through a pedantic registry, which checks the metrics
// against their descriptions.
func scrape(t *testing.T, c prometheus.Collector) metrics {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	families, err := reg.Gather()
	require.NoError(t, err)
	m := metrics{values: map[string]float64{}, callCounts: map[string]float64{}, errCounts: map[string]float64{}}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			op := labelValue(metric, "op")
			switch {
			case f.GetName() == callDuration:
				m.callCounts[op] = float64(metric.GetHistogram().GetSampleCount())
			case f.GetName() == callErrors:
				m.errCounts[op] = metric.GetCounter().GetValue()
			case metric.Counter != nil:
				m.values[f.GetName()] = metric.GetCounter().GetValue()
			case metric.Gauge != nil:
				m.values[f.GetName()] = metric.GetGauge().GetValue()
			}
		}
	}
	return m
}

// labelValue returns the value of metric's label name, "" if it has none.
func labelValue(metric *dto.Metric, name string) string {
	for _, l := range metric.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// service returns a service with one node per id.
func service(name string, ids ...string) *registry.Service {
	s := &registry.Service{Name: name, Version: "1.0.0"}
	for i, id := range ids {
		s.Nodes = append(s.Nodes, &registry.Node{Id: id, Address: fmt.Sprintf("127.0.0.1:%d", 10000+i)})
	}
	return s
}

// ids returns "<prefix>0" ... "<prefix>n-1".
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// discardLogger is a go-micro logger that drops every line: the registry's
// expected warnings about the partition would only clutter the test log.
type discardLogger struct{}

var _ logger.Logger = discardLogger{}

func (discardLogger) Init(...logger.Option) error           { return nil }
func (discardLogger) Options() logger.Options               { return logger.Options{} }
func (d discardLogger) Fields(map[string]any) logger.Logger { return d }
func (discardLogger) Log(logger.Level, ...any)              {}
func (discardLogger) Logf(logger.Level, string, ...any)     {}
func (discardLogger) String() string                        { return "discard" }
