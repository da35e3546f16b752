package zkprom_test

import (
	"io"
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go-micro.dev/v5/registry"

	"github.com/zkmicro/zookeeper/v5"
	"github.com/zkmicro/zookeeper/v5/zkprom"
)

// Serve a go-micro v5 registry's metrics, with the Go runtime's, on
// /metrics.
func ExampleNewCollector() {
	reg := zookeeper.NewRegistry(registry.Addrs("zk1:2181", "zk2:2181", "zk3:2181"))
	defer reg.(io.Closer).Close()

	c, err := zkprom.NewCollector(reg)
	if err != nil {
		log.Fatal(err)
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(c, collectors.NewGoCollector())
	http.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(":9100", nil))
}
