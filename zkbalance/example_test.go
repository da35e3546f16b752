package zkbalance_test

import (
	"context"
	"io"
	"log"
	"time"

	"go-micro.dev/v4"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/zkbalance"
)

// A server that publishes its load, and drains its node when it stops.
func ExamplePublish() {
	reg := zookeeper.NewRegistry(registry.Addrs("zk1:2181", "zk2:2181", "zk3:2181"))
	defer reg.(io.Closer).Close()
	service := micro.NewService(
		micro.Name("greeter"),
		micro.Registry(reg),
		zkbalance.Publish(), // after micro.Server, if you give one
	)
	service.Init()
	// Register handlers, then:
	if err := service.Run(); err != nil {
		log.Fatal(err)
	}
}

// A client that picks the less loaded of two nodes, skips draining and
// failing ones.
func ExampleNewSelector() {
	reg := zookeeper.NewRegistry(registry.Addrs("zk1:2181"))
	defer reg.(io.Closer).Close()
	service := micro.NewService(
		micro.Registry(reg),
		micro.Selector(zkbalance.NewSelector(selector.Registry(reg), zkbalance.Failures(3), zkbalance.Backoff(10*time.Second))),
	)
	service.Init()
	_ = service.Client() // calls pick nodes by load
}

// The strategy with go-micro's own selector.
func ExampleLeastLoaded() {
	reg := zookeeper.NewRegistry(registry.Addrs("zk1:2181"))
	defer reg.(io.Closer).Close()
	sel := selector.NewSelector(selector.Registry(reg), selector.SetStrategy(zkbalance.LeastLoaded()))
	defer sel.Close()
	next, err := sel.Select("greeter")
	if err != nil {
		log.Fatal(err)
	}
	node, err := next()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("calling %s at %s", node.Id, node.Address)
}

// A server built by hand.
func ExampleLoad() {
	reg := zookeeper.NewRegistry(registry.Addrs("zk1:2181"))
	defer reg.(io.Closer).Close()
	load := zkbalance.NewLoad(zkbalance.Interval(time.Second), zkbalance.DrainTimeout(10*time.Second))
	srv := server.NewServer(server.Name("greeter"), server.Registry(reg), server.WrapHandler(load.HandlerWrapper()))
	// Register handlers, then:
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	if err := load.Start(srv); err != nil {
		log.Fatal(err)
	}
	// ... and to stop:
	if err := load.Drain(context.Background()); err != nil {
		log.Print(err)
	}
	_ = srv.Stop()
}
