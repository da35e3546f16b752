package zookeeper

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go-micro.dev/v5"
	"go-micro.dev/v5/client"
	"go-micro.dev/v5/logger"
	"go-micro.dev/v5/registry"
	"go.uber.org/goleak"

	"github.com/zkmicro/zookeeper/example/hello/greeter"
)

// childEnv selects what the test binary does when a test runs it as a
// child process (a go-micro v5 service or client).
const childEnv = "ZKMICRO_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	// Quiet the default logger: registries under test log through it.
	_ = logger.Init(logger.WithLevel(logger.WarnLevel))
	// go-micro v5's packages start goroutines when they load; they are
	// not ours.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// runChild is the child process's main.
func runChild(mode string) int {
	switch mode {
	case "micro":
		// A go-micro v5 service configured only by flags and environment.
		service := micro.New(os.Getenv("ZK_SERVICE"), micro.Address("127.0.0.1:0"))
		service.Init()
		if got := service.Options().Registry.String(); got != "zookeeper" {
			fmt.Println("ERROR registry is", got)
			return 1
		}
		if err := service.Run(); err != nil {
			fmt.Println("ERROR", err)
			return 1
		}
		return 0
	case "greeter-client":
		return runGreeterClient()
	}
	fmt.Println("ERROR unknown child mode", mode)
	return 2
}

// runGreeterClient is a go-micro v5 client of the hello example's greeter,
// configured by flags and environment like any v5 service. It prints
// "READY" once it watches the service, then "EVENT <action> <node id>
// <host>" for every change its registry's Watcher reports, and "ANSWER
// <host> <node id>" for every call that go-micro's selector routed and the
// greeter answered. It calls every 100 ms, until killed, from the moment its
// watcher saw ZK_MIN_NODES nodes created: go-micro v5's registry cache
// looks a service up again at most every 5 s after a lookup that found
// nothing, and ignores watch events of a service it has not found yet.
func runGreeterClient() int {
	_ = logger.Init(logger.WithLevel(logger.ErrorLevel))
	service := micro.New("greeter.v5client")
	service.Init()
	reg := service.Options().Registry
	if reg.String() != "zookeeper" {
		fmt.Println("ERROR registry is", reg.String())
		return 1
	}
	w, err := reg.Watch(registry.WatchService(greeter.Service))
	if err != nil {
		fmt.Println("ERROR watch:", err)
		return 1
	}
	var out sync.Mutex // serialises lines
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	minNodes, _ := strconv.Atoi(os.Getenv("ZK_MIN_NODES"))
	found := make(chan struct{}) // closed once minNodes nodes were created
	say("READY")
	go func() {
		created := 0
		for {
			res, err := w.Next()
			if err != nil {
				say("ERROR watch stopped: %v", err)
				return
			}
			for _, n := range res.Service.Nodes {
				say("EVENT %s %s %s", res.Action, n.Id, n.Metadata[greeter.HostLabel])
			}
			if res.Action == "create" {
				if created++; created == minNodes {
					close(found)
				}
			}
		}
	}()
	if minNodes > 0 {
		<-found
	}
	c := service.Client()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req := c.NewRequest(greeter.Service, greeter.Endpoint, &greeter.Request{Name: "v5"},
			client.WithContentType(greeter.ContentType))
		rsp := new(greeter.Response)
		err := c.Call(ctx, req, rsp)
		cancel()
		if err == nil {
			say("ANSWER %s %s", rsp.Host, rsp.Node)
		} else {
			say("CALLERR %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
