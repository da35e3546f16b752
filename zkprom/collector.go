// Package zkprom exports the metrics of a go-micro (go-micro.dev/v4)
// ZooKeeper registry made by github.com/zkmicro/zookeeper to Prometheus.
// Its twin for go-micro v5, github.com/zkmicro/zookeeper/v5/zkprom,
// exports the same metrics under the same names, so one dashboard serves a
// fleet of services on either go-micro.
//
// The registry keeps its counts whether or not they are exported; this
// package turns them into a prometheus.Collector, read at scrape time.
// The registry's own package does not depend on Prometheus: only programs
// that import zkprom do.
//
//	reg := zookeeper.NewRegistry(registry.Addrs("zk1:2181"))
//	c, err := zkprom.NewCollector(reg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	prometheus.MustRegister(c)
//	http.Handle("/metrics", promhttp.Handler())
//
// The metrics, all named micro_registry_zookeeper_<name>:
//
//	sessions_established_total  counter    sessions established: the first, one after each expiry or change of connection settings
//	session_expirations_total   counter    sessions ZooKeeper expired: the registry's nodes were gone from discovery until restored
//	disconnects_total           counter    connections lost while a session was established
//	restored_nodes_total        counter    registered nodes re-created in a new session
//	watch_events_total          counter    ZooKeeper watch events received
//	registered_nodes            gauge      nodes registered and not deregistered, which the registry keeps in ZooKeeper
//	owned_nodes                 gauge      registered nodes confirmed in ZooKeeper in the current session
//	mirrored_services           gauge      services held in the watch-fed mirror
//	mirrored_nodes              gauge      service nodes held in the mirror
//	watchers                    gauge      watchers subscribed
//	call_errors_total{op}       counter    registry calls that returned an error (not found included)
//	call_duration_seconds{op}   histogram  duration of registry calls
//
// op is register, deregister, get_service, list_services or watch.
//
// A collector describes its metrics, so one prometheus.Registry takes the
// collector of one ZooKeeper registry. To export several, give each a label
// with prometheus.WrapRegistererWith (see the example).
package zkprom

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zkmetrics"
)

// ErrNotZooKeeper is returned, wrapped with the registry's name and type,
// by NewCollector for a registry that this module did not make.
var ErrNotZooKeeper = errors.New("zookeeper: metrics: not a registry of this module (github.com/zkmicro/zookeeper)")

// engineRegistry is what this module's registry offers zkprom.
type engineRegistry interface {
	Engine() *engine.Registry
}

// NewCollector returns a Prometheus collector of r's metrics (see the
// package documentation). r must be a registry made by
// github.com/zkmicro/zookeeper (zookeeper.NewRegistry, or the one go-micro
// picks with --registry=zookeeper); any other registry, go-micro's memory
// or mdns registry for instance, is refused with ErrNotZooKeeper.
//
// The collector reads r's counts at each scrape; it holds no goroutine and
// needs no closing, and it keeps reporting r's last counts after r is
// closed.
func NewCollector(r registry.Registry) (prometheus.Collector, error) {
	er, ok := r.(engineRegistry)
	if !ok || er.Engine() == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotZooKeeper, describe(r))
	}
	return zkmetrics.NewCollector(er.Engine().Stats), nil
}

// describe names a registry in an error.
func describe(r registry.Registry) string {
	if r == nil {
		return "the registry is nil"
	}
	return fmt.Sprintf("the registry is %q (%T)", r.String(), r)
}
