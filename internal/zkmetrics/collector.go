// Package zkmetrics turns the engine's counts (engine.Stats) into
// Prometheus metrics. It is the one place that knows the metric names and
// their meanings; the faces' packages (zkprom for go-micro v4, v5/zkprom
// for go-micro v5) only find the engine under a go-micro registry and hand
// its Stats method to NewCollector.
//
// Every metric is named micro_registry_zookeeper_<name>; see the metric
// descriptions below for what each one counts. They are the one source of
// the metric table in zkprom/README.md (go generate ./zkprom writes it from
// this file, and a test checks that it matches what Collect sends).
package zkmetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// Namespace and Subsystem prefix every metric's name:
// micro_registry_zookeeper_<name>.
const (
	Namespace = "micro"
	Subsystem = "registry_zookeeper"
)

// opLabel tells the registry calls apart; its values are register,
// deregister, get_service, list_services and watch (engine.Op's names).
const opLabel = "op"

// metricDesc builds the description of micro_registry_zookeeper_<name>.
func metricDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, Subsystem, name), help, labels, nil)
}

// The metrics, one description each. Counters count since the registry was
// made; gauges are read at scrape time.
var (
	sessionsEstablishedDesc = metricDesc("sessions_established_total",
		"ZooKeeper sessions established by the registry: the first, and one after each session expiry or change of connection settings.")
	sessionExpirationsDesc = metricDesc("session_expirations_total",
		"ZooKeeper sessions of the registry that ZooKeeper expired (the connection was lost for longer than the session timeout); the registry's nodes vanished from discovery until restored.")
	disconnectsDesc = metricDesc("disconnects_total",
		"Connections to ZooKeeper lost while a session was established, counted once per loss (not per reconnection attempt); the session survives if a server is reached again within the session timeout.")
	restoredNodesDesc = metricDesc("restored_nodes_total",
		"Registered nodes the registry wrote to ZooKeeper when a new session began: re-created after a session expiry or a change of connection settings, or waiting for ZooKeeper since they were registered.")
	connectedDesc = metricDesc("connected",
		"1 while the registry has a ZooKeeper session and a connection to serve it, 0 while it is disconnected, waiting for a session, or has not connected yet.")
	watchEventsDesc = metricDesc("watch_events_total",
		"ZooKeeper watch events received (node and child changes), which keep the mirror and the registry's own nodes up to date.")
	registeredNodesDesc = metricDesc("registered_nodes",
		"Nodes registered with the registry and not deregistered, which it keeps in ZooKeeper whether or not ZooKeeper holds them at the moment.")
	ownedNodesDesc = metricDesc("owned_nodes",
		"Registered nodes confirmed present in ZooKeeper, owned by the current session, with their latest data; below registered_nodes while a write or restore is pending, while ZooKeeper refuses a write, or while another live session holds a node with the same id.")
	mirroredServicesDesc = metricDesc("mirrored_services",
		"Services held in the registry's watch-fed mirror, which answers GetService, ListServices and watchers without reading ZooKeeper.")
	mirroredNodesDesc = metricDesc("mirrored_nodes",
		"Service nodes held in the registry's watch-fed mirror.")
	watchersDesc = metricDesc("watchers",
		"Registry watchers (Watch) currently subscribed.")
	callErrorsDesc = metricDesc("call_errors_total",
		"Registry calls that returned an error, by call (op). A GetService that finds no service answers not found, which is not counted: go-micro's selector asks for services that may not exist.",
		opLabel)
	callDurationDesc = metricDesc("call_duration_seconds",
		"Duration of registry calls, by call (op), from the call to its return, errors included; its count is the number of calls.",
		opLabel)
)

// allDescs lists every description, for Describe.
var allDescs = []*prometheus.Desc{
	sessionsEstablishedDesc, sessionExpirationsDesc, disconnectsDesc, connectedDesc, restoredNodesDesc, watchEventsDesc,
	registeredNodesDesc, ownedNodesDesc, mirroredServicesDesc, mirroredNodesDesc, watchersDesc,
	callErrorsDesc, callDurationDesc,
}

// collector is a prometheus.Collector over a source of engine.Stats.
type collector struct {
	stats   func() engine.Stats
	buckets []float64 // upper bounds of the duration histogram, as the engine keeps them
}

// NewCollector returns a Prometheus collector of the metrics
// micro_registry_zookeeper_* (listed in this package's descriptions) of a
// registry whose counts stats returns, typically an engine.Registry's Stats
// method. stats is called once per scrape and must be safe to call
// concurrently; NewCollector panics if it is nil.
//
// The collector is a checked one: it describes every metric, so a
// prometheus.Registry refuses a second collector of the same registry, or
// of another one, unless they are told apart by labels (see
// prometheus.WrapRegistererWith).
func NewCollector(stats func() engine.Stats) prometheus.Collector {
	if stats == nil {
		panic("zkmetrics: NewCollector: stats is nil")
	}
	return &collector{stats: stats, buckets: engine.DurationBuckets()}
}

// Describe sends the description of every metric.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect sends the metrics of one Stats snapshot.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter(sessionsEstablishedDesc, s.SessionsEstablished)
	counter(sessionExpirationsDesc, s.SessionExpirations)
	counter(disconnectsDesc, s.Disconnects)
	counter(restoredNodesDesc, s.RestoredNodes)
	counter(watchEventsDesc, s.WatchEvents)
	connected := 0
	if s.Connected {
		connected = 1
	}
	gauge(connectedDesc, connected)
	gauge(registeredNodesDesc, s.RegisteredNodes)
	gauge(ownedNodesDesc, s.OwnedNodes)
	gauge(mirroredServicesDesc, s.MirroredServices)
	gauge(mirroredNodesDesc, s.MirroredNodes)
	gauge(watchersDesc, s.Watchers)
	for _, op := range engine.Ops() {
		cs := s.Calls[op]
		ch <- prometheus.MustNewConstMetric(callErrorsDesc, prometheus.CounterValue, float64(cs.Errors), op.String())
		ch <- prometheus.MustNewConstHistogram(callDurationDesc, cs.Count, cs.Sum.Seconds(), c.bucketCounts(cs), op.String())
	}
}

// bucketCounts maps each upper bound to its cumulative count, as
// prometheus.NewConstHistogram takes them; a bound without a count (a zero
// CallStats) has none.
func (c *collector) bucketCounts(cs engine.CallStats) map[float64]uint64 {
	m := make(map[float64]uint64, len(c.buckets))
	for i, le := range c.buckets {
		var n uint64
		if i < len(cs.Buckets) {
			n = cs.Buckets[i]
		}
		m[le] = n
	}
	return m
}
