// Command server is the balance example's server: a go-micro service named
// "worker" whose requests take --delay each on one of --slots slots (a
// machine with that many cores: a request waits for a free one), and that
// publishes its load for clients that balance by it
// (github.com/zkmicro/zookeeper/zkbalance):
//
//	server --registry=zookeeper --registry_address=127.0.0.1:2181 --host_label=a --server_id=a
//
// SIGUSR1 makes it five times slower, and the next SIGUSR1 as fast again.
// SIGINT or SIGTERM drains its node (clients that balance by load stop
// sending it requests), waits for its requests, then deregisters and
// stops.
package main

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4"
	"go-micro.dev/v4/logger"

	// The plugin: --registry=zookeeper selects it.
	_ "github.com/zkmicro/zookeeper"

	"github.com/zkmicro/zookeeper/example/balance/worker"
	"github.com/zkmicro/zookeeper/zkbalance"
)

// slowdown is how much slower SIGUSR1 makes the server.
const slowdown = 5

// Worker is the handler.
type Worker struct {
	host  string
	delay time.Duration
	slots chan struct{}
	slow  atomic.Bool
}

// Do does a piece of work: delay (five times that while slowed) on a
// free slot.
func (w *Worker) Do(ctx context.Context, _ *worker.Request, rsp *worker.Response) error {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.slots }()
	d := w.delay
	if w.slow.Load() {
		d *= slowdown
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	rsp.Host = w.host
	return nil
}

func main() {
	host, _ := os.Hostname()
	delay := 10 * time.Millisecond
	slots := 2
	service := micro.NewService(
		micro.Name(worker.Service),
		micro.Version("1.0.0"),
		micro.Flags(
			&cli.StringFlag{Name: "host_label", Usage: "the server's name in replies", Value: host, Destination: &host},
			&cli.DurationFlag{Name: "delay", Usage: "time a request takes on a slot", Value: delay, Destination: &delay},
			&cli.IntFlag{Name: "slots", Usage: "requests served at once; the others wait", Value: slots, Destination: &slots},
		),
		// Count requests, publish the load every second, drain on stop.
		zkbalance.Publish(),
	)
	service.Init()

	w := &Worker{host: host, delay: delay, slots: make(chan struct{}, max(1, slots))}
	if err := micro.RegisterHandler(service.Server(), w); err != nil {
		logger.Fatal(err)
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-usr1:
				slow := !w.slow.Load()
				w.slow.Store(slow)
				logger.Logf(logger.InfoLevel, "balance: %s now takes %v a request", host, map[bool]time.Duration{false: delay, true: slowdown * delay}[slow])
			case <-stop:
				return
			}
		}
	}()
	if err := service.Run(); err != nil {
		logger.Fatal(err)
	}
}
