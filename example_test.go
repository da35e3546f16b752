package zookeeper_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"go-micro.dev/v4"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
)

// A go-micro service that registers in a ZooKeeper ensemble. Its node is an
// ephemeral znode under /micro-registry/greeter: it goes when the service
// stops, or when ZooKeeper stops hearing from it for the session timeout.
//
// Services configured by flags need only the blank import
// (import _ "github.com/zkmicro/zookeeper") and
// --registry=zookeeper --registry_address=zk1:2181,zk2:2181,zk3:2181.
func ExampleNewRegistry() {
	reg := zookeeper.NewRegistry(
		registry.Addrs("zk1:2181", "zk2:2181", "zk3:2181"),
		zookeeper.SessionTimeout(10*time.Second),
	)
	// Closing the registry ends its session, which removes its nodes at once.
	defer reg.(io.Closer).Close()

	service := micro.NewService(
		micro.Name("greeter"),
		micro.Registry(reg),
	)
	service.Init()
	if err := service.Run(); err != nil {
		log.Fatal(err)
	}
}

// Watching a service's nodes come and go. Watch returns once the watcher
// is in sync with ZooKeeper; Next then reports each node created, updated
// or deleted after that point, whether a go-micro v4 or v5 service
// registered it.
func ExampleNewRegistry_watch() {
	reg := zookeeper.NewRegistry(registry.Addrs("127.0.0.1:2181"))
	defer reg.(io.Closer).Close()

	// Stop on Ctrl-C: cancelling the WatchContext stops the watcher.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	w, err := reg.Watch(registry.WatchService("greeter"), registry.WatchContext(ctx))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Stop()
	for {
		res, err := w.Next()
		if errors.Is(err, registry.ErrWatcherStopped) {
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, n := range res.Service.Nodes {
			fmt.Printf("%s %s %s at %s\n", res.Action, res.Service.Name, n.Id, n.Address)
		}
	}
}
