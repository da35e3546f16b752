// Command server is the hello example's service: a go-micro service named
// "greeter" that answers Greeter.Hello and registers itself, with a host
// label in its node metadata, in the registry chosen on the command line.
//
// With ZooKeeper:
//
//	server --registry=zookeeper --registry_address=127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
//
// or MICRO_REGISTRY=zookeeper and MICRO_REGISTRY_ADDRESS=... in the
// environment. Other flags: --host_label (default: the host name),
// --zookeeper_session_timeout (default: the plugin's, 10s), --config_prefix
// (default /micro-config/greeter: the znode whose "greeting" key, read with
// zkconfig from the registry's ZooKeeper, replaces "Hello" without a
// restart; empty turns it off), --metrics_address (default off: serves
// /metrics there), and go-micro's own (--server_address, --server_name, ...
// see --help).
//
// The node is an ephemeral znode: SIGINT or SIGTERM deregisters it at once;
// a crash (SIGKILL) leaves it until the ZooKeeper session times out.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4"
	"go-micro.dev/v4/logger"

	// The plugin: its init adds "zookeeper" to go-micro's registries, so
	// that --registry=zookeeper selects it.
	_ "github.com/zkmicro/zookeeper"

	"github.com/zkmicro/zookeeper/example/hello/greeter"
)

// Greeter is the handler: go-micro routes "Greeter.Hello" to its Hello
// method.
type Greeter struct {
	node string // this node's registered id
	host string // this node's host label
}

// Hello answers a greeting request.
func (g *Greeter) Hello(ctx context.Context, req *greeter.Request, rsp *greeter.Response) error {
	name := req.Name
	if name == "" {
		name = "World"
	}
	rsp.Greeting = fmt.Sprintf("%s %s, from %s", greeting(), name, g.host)
	rsp.Node = g.node
	rsp.Host = g.host
	return nil
}

func main() {
	hostLabel, _ := os.Hostname()
	var sessionTimeout time.Duration

	service := micro.NewService(
		micro.Name(greeter.Service),
		micro.Version("1.0.0"),
		micro.Flags(
			&cli.StringFlag{
				Name:        "host_label",
				Usage:       "host label stored in the node's metadata under \"" + greeter.HostLabel + "\"",
				EnvVars:     []string{"HELLO_HOST_LABEL"},
				Value:       hostLabel,
				Destination: &hostLabel,
			},
			sessionTimeoutFlag(&sessionTimeout),
			metricsAddressFlag(),
			configPrefixFlag(),
		),
	)
	// Parse flags and environment: this is where --registry=zookeeper
	// replaces the default registry with the plugin.
	service.Init()

	if err := useSessionTimeout(service, sessionTimeout); err != nil {
		logger.Fatal(err)
	}
	if err := serveMetrics(service); err != nil {
		logger.Fatal(err)
	}
	defer watchGreeting(service)()

	// The host label goes into the node's metadata, next to what
	// --server_metadata may have put there.
	md := map[string]string{}
	for k, v := range service.Server().Options().Metadata {
		md[k] = v
	}
	md[greeter.HostLabel] = hostLabel
	service.Init(micro.Metadata(md))

	opts := service.Server().Options()
	node := opts.Name + "-" + opts.Id
	if err := micro.RegisterHandler(service.Server(), &Greeter{node: node, host: hostLabel}); err != nil {
		logger.Fatal(err)
	}
	service.Init(micro.AfterStart(func() error {
		reg := service.Options().Registry
		logger.Logf(logger.InfoLevel, "hello: node %s (host %q) serves %s at %s, registered in %s %v",
			node, hostLabel, greeter.Endpoint, service.Server().Options().Address, reg.String(), reg.Options().Addrs)
		return nil
	}))

	// Run starts the server, registers the node, and on SIGINT or SIGTERM
	// deregisters it and stops.
	err := service.Run()

	// The plugin's registry implements io.Closer: closing it ends the
	// ZooKeeper session at once.
	if c, ok := service.Options().Registry.(io.Closer); ok {
		_ = c.Close()
	}
	if err != nil {
		logger.Fatal(err)
	}
}
