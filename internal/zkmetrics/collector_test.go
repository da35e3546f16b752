package zkmetrics

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// sampleStats are counts with a distinct value in every field, and calls of
// two ops.
func sampleStats() engine.Stats {
	s := engine.Stats{
		SessionsEstablished: 3,
		SessionExpirations:  2,
		Disconnects:         5,
		RestoredNodes:       40,
		WatchEvents:         123,
		Connected:           true,
		RegisteredNodes:     21,
		OwnedNodes:          20,
		MirroredServices:    4,
		MirroredNodes:       31,
		Watchers:            2,
	}
	n := len(engine.DurationBuckets())
	for _, op := range engine.Ops() {
		s.Calls[op] = engine.CallStats{Buckets: make([]uint64, n)}
	}
	// get_service: 3 calls of ~50 µs and one of 2 s that failed.
	gs := &s.Calls[engine.OpGetService]
	gs.Count, gs.Errors, gs.Sum = 4, 1, 2*time.Second+150*time.Microsecond
	for i, le := range engine.DurationBuckets() {
		switch {
		case le >= 2.5:
			gs.Buckets[i] = 4
		case le >= 0.0001:
			gs.Buckets[i] = 3
		}
	}
	// register: one call of 3 ms.
	rg := &s.Calls[engine.OpRegister]
	rg.Count, rg.Sum = 1, 3*time.Millisecond
	for i, le := range engine.DurationBuckets() {
		if le >= 0.005 {
			rg.Buckets[i] = 1
		}
	}
	return s
}

func TestCollectorPassesLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(NewCollector(sampleStats))
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// A pedantic registry checks that what Collect sends matches what Describe
// announced, and that the metrics are consistent.
func TestCollectorIsConsistentWithItsDescriptions(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(NewCollector(sampleStats)))
	families, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
		assert.NotEmpty(t, f.GetHelp(), f.GetName())
	}
	assert.ElementsMatch(t, []string{
		"micro_registry_zookeeper_sessions_established_total",
		"micro_registry_zookeeper_session_expirations_total",
		"micro_registry_zookeeper_disconnects_total",
		"micro_registry_zookeeper_connected",
		"micro_registry_zookeeper_restored_nodes_total",
		"micro_registry_zookeeper_watch_events_total",
		"micro_registry_zookeeper_registered_nodes",
		"micro_registry_zookeeper_owned_nodes",
		"micro_registry_zookeeper_mirrored_services",
		"micro_registry_zookeeper_mirrored_nodes",
		"micro_registry_zookeeper_watchers",
		"micro_registry_zookeeper_call_errors_total",
		"micro_registry_zookeeper_call_duration_seconds",
	}, names)
	// A second collector of the same names is refused, as the doc says.
	assert.Error(t, reg.Register(NewCollector(sampleStats)))
}

func TestCollectorReportsStats(t *testing.T) {
	c := NewCollector(sampleStats)
	const scalars = `
# HELP micro_registry_zookeeper_disconnects_total Connections to ZooKeeper lost while a session was established, counted once per loss (not per reconnection attempt); the session survives if a server is reached again within the session timeout.
# TYPE micro_registry_zookeeper_disconnects_total counter
micro_registry_zookeeper_disconnects_total 5
# HELP micro_registry_zookeeper_owned_nodes Registered nodes confirmed present in ZooKeeper, owned by the current session, with their latest data; below registered_nodes while a write or restore is pending, while ZooKeeper refuses a write, or while another live session holds a node with the same id.
# TYPE micro_registry_zookeeper_owned_nodes gauge
micro_registry_zookeeper_owned_nodes 20
# HELP micro_registry_zookeeper_call_errors_total Registry calls that returned an error, by call (op). A GetService that finds no service answers not found, which is not counted: go-micro's selector asks for services that may not exist.
# TYPE micro_registry_zookeeper_call_errors_total counter
micro_registry_zookeeper_call_errors_total{op="deregister"} 0
micro_registry_zookeeper_call_errors_total{op="get_service"} 1
micro_registry_zookeeper_call_errors_total{op="list_services"} 0
micro_registry_zookeeper_call_errors_total{op="register"} 0
micro_registry_zookeeper_call_errors_total{op="watch"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(scalars),
		"micro_registry_zookeeper_disconnects_total", "micro_registry_zookeeper_owned_nodes", "micro_registry_zookeeper_call_errors_total"))

	got := gatherValues(t, c)
	for name, want := range map[string]float64{
		"micro_registry_zookeeper_sessions_established_total": 3,
		"micro_registry_zookeeper_session_expirations_total":  2,
		"micro_registry_zookeeper_restored_nodes_total":       40,
		"micro_registry_zookeeper_watch_events_total":         123,
		"micro_registry_zookeeper_connected":                  1,
		"micro_registry_zookeeper_registered_nodes":           21,
		"micro_registry_zookeeper_mirrored_services":          4,
		"micro_registry_zookeeper_mirrored_nodes":             31,
		"micro_registry_zookeeper_watchers":                   2,
	} {
		assert.Equal(t, want, got[name], name)
	}

	h := histogramOf(t, c, "get_service")
	assert.EqualValues(t, 4, h.GetSampleCount())
	assert.InDelta(t, 2.00015, h.GetSampleSum(), 1e-9)
	bounds := engine.DurationBuckets()
	require.Len(t, h.GetBucket(), len(bounds))
	for i, b := range h.GetBucket() {
		assert.Equal(t, bounds[i], b.GetUpperBound())
		assert.Equal(t, sampleStats().Calls[engine.OpGetService].Buckets[i], b.GetCumulativeCount(), "le=%v", b.GetUpperBound())
	}
	assert.EqualValues(t, 1, histogramOf(t, c, "register").GetSampleCount())
	assert.EqualValues(t, 0, histogramOf(t, c, "watch").GetSampleCount())
}

// A registry that was never used reports zeros, every op included.
func TestCollectorOfUnusedRegistry(t *testing.T) {
	c := NewCollector(func() engine.Stats { return engine.Stats{} })
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
	// 11 scalar metrics, then an error counter and a histogram per op.
	assert.Equal(t, 11+2*len(engine.Ops()), testutil.CollectAndCount(c))
	for _, op := range engine.Ops() {
		h := histogramOf(t, c, op.String())
		assert.Zero(t, h.GetSampleCount(), op.String())
		assert.Len(t, h.GetBucket(), len(engine.DurationBuckets()), op.String())
	}
}

// Scrapes may run concurrently; each calls stats once.
func TestCollectorCallsStatsOncePerScrape(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	c := NewCollector(func() engine.Stats {
		mu.Lock()
		calls++
		mu.Unlock()
		return sampleStats()
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { testutil.CollectAndCount(c) })
	}
	wg.Wait()
	assert.Equal(t, 4, calls)
}

func TestNewCollectorRefusesNilStats(t *testing.T) {
	assert.PanicsWithValue(t, "zkmetrics: NewCollector: stats is nil", func() { NewCollector(nil) })
}
