// Command server is the hello example's service on go-micro v5: a service
// named "greeter" that answers Greeter.Hello and registers itself, with a
// host label in its node metadata, in the registry chosen on the command
// line. It is the go-micro v4 example's server (example/hello/server in the
// root module) written against go-micro v5, with the same service name,
// endpoint, messages and flags: the v4 client discovers and calls it like
// a v4 server, so one fleet can run both during an upgrade.
//
// With ZooKeeper:
//
//	server --registry=zookeeper --registry_address=127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
//
// or MICRO_REGISTRY=zookeeper and MICRO_REGISTRY_ADDRESS=... in the
// environment. Other flags: --host_label (default: the host name),
// --zookeeper_session_timeout (default: the plugin's, 10s), --config_prefix
// (default /micro-config/greeter: the znode whose "greeting" key, read with
// zkconfig over the registry's ZooKeeper session, replaces "Hello" without
// a restart, as in the v4 server; empty turns it off), and go-micro's own
// (--server_address, --server_name, ... see --help).
//
// The node is an ephemeral znode: SIGINT or SIGTERM deregisters it at once;
// a crash (SIGKILL) leaves it until the ZooKeeper session times out.
package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v5"
	"go-micro.dev/v5/logger"

	"github.com/zkmicro/zookeeper/example/hello/greeter"

	// The plugin: its init adds "zookeeper" to go-micro's registries, so
	// that --registry=zookeeper selects it.
	"github.com/zkmicro/zookeeper/v5"
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

	service := micro.New(greeter.Service,
		micro.Version("1.0.0"),
		micro.Flags(
			&cli.StringFlag{
				Name:        "host_label",
				Usage:       "host label stored in the node's metadata under \"" + greeter.HostLabel + "\"",
				EnvVars:     []string{"HELLO_HOST_LABEL"},
				Value:       hostLabel,
				Destination: &hostLabel,
			},
			&cli.DurationFlag{
				Name:        "zookeeper_session_timeout",
				Usage:       "ZooKeeper session timeout: how long a crashed server stays registered (default 10s)",
				EnvVars:     []string{"HELLO_ZOOKEEPER_SESSION_TIMEOUT"},
				Destination: &sessionTimeout,
			},
			configPrefixFlag(),
		),
	)
	// Parse flags and environment: this is where --registry=zookeeper
	// replaces the default registry with the plugin.
	service.Init()

	// go-micro's flags set a registry's addresses only; the plugin's own
	// options are given in code, after Init chose the registry and before
	// Run registers the node.
	reg := service.Options().Registry
	if sessionTimeout > 0 {
		if reg.String() != "zookeeper" {
			logger.Fatalf("hello: --zookeeper_session_timeout needs --registry=zookeeper (the registry is %s)", reg.String())
		}
		if err := reg.Init(zookeeper.SessionTimeout(sessionTimeout)); err != nil {
			logger.Fatalf("hello: session timeout %v: %v", sessionTimeout, err)
		}
	}

	defer watchGreeting(service)()

	// The host label goes into the node's metadata, next to what
	// --server_metadata may have put there.
	md := maps.Clone(service.Server().Options().Metadata)
	if md == nil {
		md = map[string]string{}
	}
	md[greeter.HostLabel] = hostLabel
	service.Init(micro.Metadata(md))

	opts := service.Server().Options()
	node := opts.Name + "-" + opts.Id
	if err := service.Handle(&Greeter{node: node, host: hostLabel}); err != nil {
		logger.Fatal(err)
	}
	service.Init(micro.AfterStart(func() error {
		logger.Logf(logger.InfoLevel, "hello (go-micro v5): node %s (host %q) serves %s at %s, registered in %s %v",
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
