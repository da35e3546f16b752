package zkresolver_test

import (
	"context"
	"log"

	"go-micro.dev/v4/registry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/zkresolver"
)

// A plain grpc client calls the nodes of greeter that go-micro services,
// or zkmicro register, keep in ZooKeeper, spreading its calls over them.
func ExampleNewBuilder() {
	reg := zookeeper.NewRegistry(registry.Addrs("127.0.0.1:2181"))
	defer reg.(interface{ Close() error }).Close()

	conn, err := grpc.NewClient("zookeeper:///greeter",
		grpc.WithResolvers(zkresolver.NewBuilder(reg)),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		log.Fatal(err)
	}
	log.Println(resp.GetStatus())
}

// Only the nodes of version 1.2.0 of greeter.
func ExampleNewBuilder_version() {
	reg := zookeeper.NewRegistry(registry.Addrs("127.0.0.1:2181"))
	defer reg.(interface{ Close() error }).Close()

	conn, err := grpc.NewClient("zookeeper:///greeter?version=1.2.0",
		grpc.WithResolvers(zkresolver.NewBuilder(reg)),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
}
