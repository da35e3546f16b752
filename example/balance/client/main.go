// Command client is the balance example's client: it calls the "worker"
// service from --callers goroutines, each call after the last, and every
// --report_every prints the calls per second, each server's share and the
// latencies, until --duration has passed or it is interrupted:
//
//	client --registry=zookeeper --registry_address=127.0.0.1:2181 --strategy=zkbalance
//
// --strategy picks the nodes: zkbalance (zkbalance.NewSelector: the less
// loaded of two, with this client's own requests in flight; skips draining
// and failing nodes), least_loaded (zkbalance.LeastLoaded with go-micro's
// selector), random or round_robin (go-micro's).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	// The plugin: --registry=zookeeper selects it.
	_ "github.com/zkmicro/zookeeper"

	"github.com/zkmicro/zookeeper/example/balance/worker"
	"github.com/zkmicro/zookeeper/zkbalance"
)

// window is what the callers saw since the last report.
type window struct {
	mu        sync.Mutex // guards the fields below
	hosts     map[string]int
	failed    int
	latencies []time.Duration
}

// add records one call.
func (w *window) add(host string, took time.Duration, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.failed++
	} else {
		w.hosts[host]++
	}
	w.latencies = append(w.latencies, took)
}

// take returns a report line of the window and empties it.
func (w *window) take(elapsed time.Duration) string {
	w.mu.Lock()
	hosts, failed, lat := w.hosts, w.failed, w.latencies
	w.hosts, w.failed, w.latencies = map[string]int{}, 0, nil
	w.mu.Unlock()
	if len(lat) == 0 {
		return "no calls"
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var names []string
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	var shares []string
	for _, h := range names {
		shares = append(shares, fmt.Sprintf("%s %3.0f%%", h, 100*float64(hosts[h])/float64(len(lat))))
	}
	line := fmt.Sprintf("%4.0f calls/s  %s  p50 %v  p99 %v", float64(len(lat))/elapsed.Seconds(), strings.Join(shares, "  "),
		lat[len(lat)/2].Round(time.Millisecond), lat[min(len(lat)-1, len(lat)*99/100)].Round(time.Millisecond))
	if failed > 0 {
		line += fmt.Sprintf("  %d failed", failed)
	}
	return line
}

func main() {
	strategy, callers, every, duration, minNodes := "zkbalance", 6, time.Second, time.Duration(0), 1
	parsed := false
	service := micro.NewService(
		micro.Name(worker.Service+".client"),
		micro.Flags(
			&cli.StringFlag{Name: "strategy", Usage: "zkbalance, least_loaded, random or round_robin", Value: strategy},
			&cli.IntFlag{Name: "callers", Usage: "calls in flight at once", Value: callers},
			&cli.DurationFlag{Name: "report_every", Usage: "time between report lines", Value: every},
			&cli.DurationFlag{Name: "duration", Usage: "stop after this long (0: when interrupted)"},
			&cli.IntFlag{Name: "min_nodes", Usage: "nodes to wait for before calling", Value: minNodes},
		),
		micro.Action(func(c *cli.Context) error {
			parsed = true
			strategy, callers, every, duration, minNodes = c.String("strategy"), c.Int("callers"), c.Duration("report_every"), c.Duration("duration"), c.Int("min_nodes")
			return nil
		}),
	)
	service.Init()
	if !parsed {
		return
	}
	reg := service.Options().Registry
	var sel selector.Selector
	switch strategy {
	case "zkbalance":
		sel = zkbalance.NewSelector(selector.Registry(reg))
	case "least_loaded":
		sel = selector.NewSelector(selector.Registry(reg), selector.SetStrategy(zkbalance.LeastLoaded()))
	case "random":
		sel = selector.NewSelector(selector.Registry(reg), selector.SetStrategy(selector.Random))
	case "round_robin":
		sel = selector.NewSelector(selector.Registry(reg), selector.SetStrategy(selector.RoundRobin))
	default:
		fmt.Fprintf(os.Stderr, "client: --strategy %q: want zkbalance, least_loaded, random or round_robin\n", strategy)
		os.Exit(2)
	}
	defer sel.Close()
	// No connection pool: go-micro v4.11's HTTP transport now and then
	// loses a call sent on a pooled connection right after the previous
	// one (it fails after 5 s), which back-to-back calls run into.
	c := service.Client()
	if err := c.Init(client.Selector(sel), client.PoolSize(0), client.Retries(0)); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	if err := waitForNodes(ctx, reg, minNodes); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	say("calling %s with %d callers, strategy %s", worker.Service, callers, strategy)

	w := &window{hosts: map[string]int{}}
	var wg sync.WaitGroup
	for range max(1, callers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				rsp := new(worker.Response)
				start := time.Now()
				err := c.Call(context.WithoutCancel(ctx), c.NewRequest(worker.Service, worker.Endpoint, &worker.Request{},
					client.WithContentType(worker.ContentType)), rsp)
				w.add(rsp.Host, time.Since(start), err)
			}
		}()
	}
	t := time.NewTicker(every)
	last := time.Now()
	for done := false; !done; {
		select {
		case now := <-t.C:
			say("%s", w.take(now.Sub(last)))
			last = now
		case <-ctx.Done():
			done = true
		}
	}
	t.Stop()
	wg.Wait()
}

// waitForNodes returns once the registry holds at least n nodes of the
// service.
func waitForNodes(ctx context.Context, reg registry.Registry, n int) error {
	for {
		svcs, _ := reg.GetService(worker.Service)
		got := 0
		for _, s := range svcs {
			got += len(s.Nodes)
		}
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d %s nodes found", got, n, worker.Service)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// say prints one line, stamped with the time of day.
func say(format string, args ...any) {
	fmt.Printf(time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
}
