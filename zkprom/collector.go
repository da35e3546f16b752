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
// The metrics are all named micro_registry_zookeeper_<name>; the table of
// their names, types, labels and meanings, made from the descriptions the
// collector serves, is in zkprom's README.md
// (https://github.com/zkmicro/zookeeper/blob/main/zkprom/README.md#the-metrics),
// with an example scrape and alerting rules.
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

// The metric table of README.md is made from internal/zkmetrics.
//go:generate go run ../internal/cmd/gendocs metrics

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
// needs no closing. After r is closed it reports zero for every gauge and
// the last totals of r's counters.
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
