package zkprom_test

import (
	"io"
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/zkprom"
)

// Serve a registry's metrics, with the Go runtime's, on /metrics.
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

// Two registries in one process, told apart by a label.
func ExampleNewCollector_severalRegistries() {
	metrics := prometheus.NewRegistry()
	for name, addr := range map[string]string{"east": "zk-east:2181", "west": "zk-west:2181"} {
		reg := zookeeper.NewRegistry(registry.Addrs(addr))
		defer reg.(io.Closer).Close()
		c, err := zkprom.NewCollector(reg)
		if err != nil {
			log.Fatal(err)
		}
		prometheus.WrapRegistererWith(prometheus.Labels{"registry": name}, metrics).MustRegister(c)
	}
	http.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(":9100", nil))
}
