package zkresolver

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/zkmicro/zookeeper"
)

// childEnv selects what the test binary does when a test runs it as a
// child process.
const childEnv = "ZKRESOLVER_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	// Quiet the default logger: registries under test log through it.
	_ = logger.Init(logger.WithLevel(logger.WarnLevel))
	// go-micro's config package starts goroutines when it loads (and some
	// a moment later); they are not ours.
	goleak.VerifyTestMain(m,
		goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config/loader/memory.(*memory).Watch.func1"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run.func2"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run"),
	)
}

// runChild is the child process's main. Mode "server" serves grpc's health
// service on a loopback port, registers it as node ZK_NODE of ZK_SERVICE
// with a session of ZK_SESSION_TIMEOUT, prints "REGISTERED ADDRESS" (or
// "ERROR ...") and serves until killed.
func runChild(mode string) int {
	if mode != "server" {
		fmt.Println("ERROR unknown child mode", mode)
		return 2
	}
	_ = logger.Init(logger.WithLevel(logger.WarnLevel))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	st, _ := time.ParseDuration(os.Getenv("ZK_SESSION_TIMEOUT"))
	reg := zookeeper.NewRegistry(registry.Addrs(os.Getenv("ZK_ADDR")), zookeeper.SessionTimeout(st))
	err = reg.Register(&registry.Service{
		Name:    os.Getenv("ZK_SERVICE"),
		Version: "1.0.0",
		Nodes:   []*registry.Node{{Id: os.Getenv("ZK_NODE"), Address: lis.Addr().String()}},
	})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Println("REGISTERED", lis.Addr().String())
	select {}
}
