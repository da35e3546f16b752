package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/urfave/cli/v2"
	"go-micro.dev/v4"
	"go-micro.dev/v4/logger"

	"github.com/zkmicro/zookeeper/zkprom"
)

// This file shows how to export the registry's metrics to Prometheus: with
// --metrics_address=:9100 (or HELLO_METRICS_ADDRESS), the server answers
// GET /metrics on that address with the ZooKeeper registry's metrics
// (micro_registry_zookeeper_*, see package zkprom) and the Go runtime's.
// Without it, nothing is served.

// metricsShutdownTimeout bounds the wait for scrapes in progress when the
// service stops.
const metricsShutdownTimeout = 5 * time.Second

// metricsAddress is --metrics_address: where to serve /metrics, "" for
// nowhere.
var metricsAddress string

// metricsAddressFlag is --metrics_address, stored in metricsAddress.
func metricsAddressFlag() cli.Flag {
	return &cli.StringFlag{
		Name:        "metrics_address",
		Usage:       "serve Prometheus metrics (the ZooKeeper registry's and the Go runtime's) on /metrics at this address, e.g. :9100 (default: off)",
		EnvVars:     []string{"HELLO_METRICS_ADDRESS"},
		Destination: &metricsAddress,
	}
}

// serveMetrics serves /metrics on metricsAddress, if it is set, until the
// service stops. It must run after service.Init, which chooses the
// registry, and needs the ZooKeeper registry (--registry=zookeeper). The
// address is bound before it returns, so a bad or busy one is an error
// here rather than a log line later.
func serveMetrics(service micro.Service) error {
	if metricsAddress == "" {
		return nil
	}
	c, err := zkprom.NewCollector(service.Options().Registry)
	if err != nil {
		return fmt.Errorf("hello: --metrics_address: %w", err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("hello: --metrics_address: %w", err)
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return fmt.Errorf("hello: --metrics_address: %w", err)
	}
	ln, err := net.Listen("tcp", metricsAddress)
	if err != nil {
		return fmt.Errorf("hello: --metrics_address: %w", err)
	}
	m := newMetricsServer(ln, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	logger.Logf(logger.InfoLevel, "hello: serving metrics on http://%s/metrics", ln.Addr())
	// BeforeStop runs whenever Run stops the service (AfterStop is skipped
	// if the server fails to stop).
	service.Init(micro.BeforeStop(m.stop))
	return nil
}

// metricsServer is the HTTP server of /metrics and the goroutine that runs
// it.
type metricsServer struct {
	srv  *http.Server
	done chan struct{} // closed when the serving goroutine returns
}

// newMetricsServer serves handler on /metrics at ln in a goroutine that
// stop ends.
func newMetricsServer(ln net.Listener, handler http.Handler) *metricsServer {
	mux := http.NewServeMux()
	mux.Handle("/metrics", handler)
	m := &metricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Logf(logger.ErrorLevel, "hello: metrics server: %v", err)
		}
	}()
	return m
}

// stop shuts the server down, letting scrapes in progress finish for up
// to metricsShutdownTimeout, and waits for its goroutine. It may be called
// more than once.
func (m *metricsServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	<-m.done
	if err != nil {
		return fmt.Errorf("hello: stopping the metrics server: %w", err)
	}
	return nil
}
