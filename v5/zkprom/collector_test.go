package zkprom_test

import (
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
	"go-micro.dev/v5/logger"
	"go-micro.dev/v5/registry"

	"github.com/zkmicro/zookeeper/internal/zktest"
	"github.com/zkmicro/zookeeper/v5"
	"github.com/zkmicro/zookeeper/v5/zkprom"
)

func TestNewCollectorRefusesForeignRegistries(t *testing.T) {
	for name, r := range map[string]registry.Registry{
		"memory": registry.NewMemoryRegistry(),
		"mdns":   registry.NewMDNSRegistry(),
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
	for _, name := range []string{established, ownedNodes, watchers} {
		assert.Zero(t, m.value(name), name)
	}
	assert.Zero(t, m.calls("register"))
}

// The collector follows a v5 registry's use of ZooKeeper.
func TestCollectorFollowsRegistry(t *testing.T) {
	srv := zktest.Start(t)
	r := zookeeper.NewRegistry(registry.Addrs(srv.Addr), registry.Logger(logger.NewLogger(logger.WithLevel(logger.ErrorLevel))))
	t.Cleanup(func() { _ = r.(io.Closer).Close() })
	c, err := zkprom.NewCollector(r)
	require.NoError(t, err)

	svc := &registry.Service{Name: "metrics", Version: "1", Nodes: []*registry.Node{{Id: "n1"}, {Id: "n2"}}}
	require.NoError(t, r.Register(svc))
	require.Error(t, r.Register(&registry.Service{Version: "1"}), "a service without a name is refused")
	w, err := r.Watch(registry.WatchService("metrics"))
	require.NoError(t, err)
	_, err = r.GetService("metrics")
	require.NoError(t, err)

	zktest.Eventually(t, 10*time.Second, func() bool { return scrape(t, c).value(ownedNodes) == 2 },
		"owned_nodes never reached 2")
	m := scrape(t, c)
	assert.Equal(t, 1.0, m.value(established))
	assert.Equal(t, 1.0, m.value(watchers))
	assert.Equal(t, 2.0, m.calls("register"))
	assert.Equal(t, 1.0, m.errors("register"), "the refused registration")
	assert.Equal(t, 1.0, m.calls("get_service"))
	assert.Equal(t, 1.0, m.calls("watch"))

	w.Stop()
	zktest.Eventually(t, 10*time.Second, func() bool { return scrape(t, c).value(watchers) == 0 },
		"the stopped watcher is still counted")
	require.NoError(t, r.(io.Closer).Close())
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems, "a closed registry's last counts")
	assert.Equal(t, 1.0, scrape(t, c).value(established), "a closed registry keeps its counts")
}

// The metric names the tests read.
const (
	established  = "micro_registry_zookeeper_sessions_established_total"
	ownedNodes   = "micro_registry_zookeeper_owned_nodes"
	watchers     = "micro_registry_zookeeper_watchers"
	callErrors   = "micro_registry_zookeeper_call_errors_total"
	callDuration = "micro_registry_zookeeper_call_duration_seconds"
)

// metrics is one scrape: metric families by name.
type metrics map[string]*dto.MetricFamily

// scrape gathers c's metrics through a pedantic Prometheus registry,
// which checks them against their descriptions.
func scrape(t *testing.T, c prometheus.Collector) metrics {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	families, err := reg.Gather()
	require.NoError(t, err)
	m := metrics{}
	for _, f := range families {
		m[f.GetName()] = f
	}
	return m
}

// value is the value of the unlabelled counter or gauge name.
func (m metrics) value(name string) float64 {
	f, ok := m[name]
	if !ok || len(f.GetMetric()) != 1 {
		return -1
	}
	mt := f.GetMetric()[0]
	if mt.GetCounter() != nil {
		return mt.GetCounter().GetValue()
	}
	return mt.GetGauge().GetValue()
}

// opMetric is the metric of family name with op="op".
func (m metrics) opMetric(name, op string) *dto.Metric {
	for _, mt := range m[name].GetMetric() {
		for _, l := range mt.GetLabel() {
			if l.GetName() == "op" && l.GetValue() == op {
				return mt
			}
		}
	}
	return nil
}

// calls is how many op calls the duration histogram counted.
func (m metrics) calls(op string) float64 {
	return float64(m.opMetric(callDuration, op).GetHistogram().GetSampleCount())
}

// errors is how many op calls failed.
func (m metrics) errors(op string) float64 {
	return m.opMetric(callErrors, op).GetCounter().GetValue()
}
