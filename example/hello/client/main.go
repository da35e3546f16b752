// Command client is the hello example's client. It finds the "greeter"
// service through go-micro's selector, whose registry cache follows the
// registry's Watcher, and calls Greeter.Hello, printing each reply and the
// node that answered.
//
//	client --registry=zookeeper --registry_address=127.0.0.1:2181 --calls=5
//
// When the service has fewer than --min_nodes nodes, it says so and waits,
// for at most --wait. With --watch it instead prints every node the
// registry reports created, updated or deleted, with a timestamp, until
// interrupted (and with --call_every, also calls the service that often).
//
// The registry is chosen like any go-micro service's: --registry and
// --registry_address, or MICRO_REGISTRY and MICRO_REGISTRY_ADDRESS.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	// The plugin: its init adds "zookeeper" to go-micro's registries, so
	// that --registry=zookeeper selects it.
	_ "github.com/zkmicro/zookeeper"

	"github.com/zkmicro/zookeeper/example/hello/greeter"
)

// callTimeout bounds one call, retries included.
const callTimeout = 10 * time.Second

// settings are the client's own flags.
type settings struct {
	service   string
	name      string
	calls     int
	interval  time.Duration
	minNodes  int
	wait      time.Duration
	watch     bool
	callEvery time.Duration
}

func main() {
	s := settings{
		service:  greeter.Service,
		name:     "World",
		calls:    3,
		interval: 200 * time.Millisecond,
		minNodes: 1,
		wait:     30 * time.Second,
	}
	parsed := false
	service := micro.NewService(
		micro.Name(greeter.Service+".client"),
		micro.Flags(
			&cli.StringFlag{Name: "service", Usage: "service to call or watch", EnvVars: []string{"HELLO_SERVICE"}, Value: s.service},
			&cli.StringFlag{Name: "name", Usage: "who to greet", Value: s.name},
			&cli.IntFlag{Name: "calls", Usage: "calls to make", Value: s.calls},
			&cli.DurationFlag{Name: "interval", Usage: "pause between calls", Value: s.interval},
			&cli.IntFlag{Name: "min_nodes", Usage: "nodes to wait for before calling", Value: s.minNodes},
			&cli.DurationFlag{Name: "wait", Usage: "how long to wait for the service, or for the registry, before giving up", Value: s.wait},
			&cli.BoolFlag{Name: "watch", Usage: "print the service's nodes as they are created, updated and deleted, until interrupted"},
			&cli.DurationFlag{Name: "call_every", Usage: "with --watch: also call the service this often (0: never)"},
		),
		// The action runs once the flags are parsed (and not at all
		// after --help).
		micro.Action(func(c *cli.Context) error {
			parsed = true
			s = settings{
				service:   c.String("service"),
				name:      c.String("name"),
				calls:     c.Int("calls"),
				interval:  c.Duration("interval"),
				minNodes:  c.Int("min_nodes"),
				wait:      c.Duration("wait"),
				watch:     c.Bool("watch"),
				callEvery: c.Duration("call_every"),
			}
			return nil
		}),
	)
	// Parse flags and environment: this is where --registry=zookeeper
	// replaces the default registry, in the client and its selector.
	service.Init()
	if !parsed { // --help
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if s.watch {
		err = watch(ctx, service, s)
	} else {
		err = callMany(ctx, service, s)
	}
	stop()

	// Stop the selector's cache, then end the registry's session.
	_ = service.Client().Options().Selector.Close()
	if c, ok := service.Options().Registry.(io.Closer); ok {
		_ = c.Close()
	}
	if err != nil {
		say("error: %v", err)
		os.Exit(1)
	}
}

// callMany waits for s.minNodes nodes, then calls the service s.calls times
// and sums up which nodes answered.
func callMany(ctx context.Context, service micro.Service, s settings) error {
	if err := waitForNodes(ctx, service, s); err != nil {
		return err
	}
	answered := map[string]int{} // node description → calls answered
	failed := 0
	for i := 1; i <= s.calls && ctx.Err() == nil; i++ {
		rsp, node, err := callHello(ctx, service.Client(), s)
		if err != nil {
			failed++
			say("call %d/%d failed: %v", i, s.calls, err)
		} else {
			say("call %d/%d: %q answered by %s", i, s.calls, rsp.Greeting, describe(node))
			answered[node.Id+" (host "+node.Metadata[greeter.HostLabel]+")"]++
		}
		if i < s.calls && !pause(ctx, s.interval) {
			break
		}
	}
	var by []string
	for n, c := range answered {
		by = append(by, fmt.Sprintf("%s ×%d", n, c))
	}
	sort.Strings(by)
	say("answered by %d node(s): %s", len(answered), strings.Join(by, ", "))
	if err := ctx.Err(); err != nil {
		return errors.New("interrupted")
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d calls failed", failed, s.calls)
	}
	return nil
}

// waitForNodes returns once the client's selector knows at least
// s.minNodes nodes of the service, saying what it waits for, or fails
// after s.wait.
func waitForNodes(ctx context.Context, service micro.Service, s settings) error {
	sel := service.Client().Options().Selector
	reg := service.Options().Registry
	start := time.Now()
	deadline := start.Add(s.wait)
	var reported time.Time
	for {
		// A lookup waits up to the registry's timeout for ZooKeeper:
		// say so if that takes a while.
		slow := time.AfterFunc(time.Second, func() {
			say("waiting for %s in %s %v: no answer from the registry yet", s.service, reg.String(), reg.Options().Addrs)
		})
		n, err := discovered(sel, s.service)
		if !slow.Stop() {
			reported = time.Now()
		}
		if err == nil && n >= s.minNodes {
			if !reported.IsZero() {
				say("found %d %s node(s) after %v", n, s.service, time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		status := fmt.Sprintf("%d of %d node(s) found", n, s.minNodes)
		if err != nil {
			status = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up waiting for %s after %v (%s): is the server running with the same registry (%s %v)?",
				s.service, time.Since(start).Round(time.Second), status, reg.String(), reg.Options().Addrs)
		}
		if reported.IsZero() || time.Since(reported) >= 5*time.Second {
			say("waiting for %s in %s %v: %s (giving up in %v)", s.service, reg.String(), reg.Options().Addrs,
				status, time.Until(deadline).Round(time.Second))
			reported = time.Now()
		}
		if !pause(ctx, 250*time.Millisecond) {
			return fmt.Errorf("interrupted while waiting for %s", s.service)
		}
	}
}

// discovered returns how many nodes of the service the selector would
// choose from: those in go-micro's registry cache, which reads the registry
// on a miss and then follows its Watcher.
func discovered(sel selector.Selector, name string) (int, error) {
	n := 0
	count := func(svcs []*registry.Service) []*registry.Service {
		for _, s := range svcs {
			n += len(s.Nodes)
		}
		return svcs
	}
	_, err := sel.Select(name, selector.WithFilter(count))
	if errors.Is(err, selector.ErrNotFound) || errors.Is(err, selector.ErrNoneAvailable) {
		return 0, nil
	}
	return n, err
}

// callHello makes one call and returns the reply and the node the selector
// picked for it.
func callHello(ctx context.Context, c client.Client, s settings) (*greeter.Response, *registry.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var picked atomic.Pointer[registry.Node]
	record := func(next client.CallFunc) client.CallFunc {
		return func(ctx context.Context, node *registry.Node, req client.Request, rsp interface{}, opts client.CallOptions) error {
			picked.Store(node)
			return next(ctx, node, req, rsp, opts)
		}
	}
	req := c.NewRequest(s.service, greeter.Endpoint, &greeter.Request{Name: s.name},
		client.WithContentType(greeter.ContentType))
	rsp := new(greeter.Response)
	if err := c.Call(ctx, req, rsp, client.WithCallWrapper(record)); err != nil {
		return nil, picked.Load(), err
	}
	return rsp, picked.Load(), nil
}

// watch prints the service's nodes and then every change the registry's
// Watcher reports, until ctx ends.
func watch(ctx context.Context, service micro.Service, s settings) error {
	reg := service.Options().Registry
	deadline := time.Now().Add(s.wait)
	var w registry.Watcher
	for {
		var err error
		w, err = reg.Watch(registry.WatchService(s.service), registry.WatchContext(ctx))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no watch after %v: %w: is the registry (%s %v) up?", s.wait, err, reg.String(), reg.Options().Addrs)
		}
		say("cannot watch %s yet: %v (retrying until %s)", s.service, err, deadline.Format("15:04:05"))
		if !pause(ctx, time.Second) {
			return nil
		}
	}
	say("watching %s in %s %v", s.service, reg.String(), reg.Options().Addrs)

	svcs, err := reg.GetService(s.service)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		say("no %s node registered yet", s.service)
	case err != nil:
		say("listing %s: %v", s.service, err)
	}
	for _, svc := range svcs {
		for _, n := range svc.Nodes {
			say("present %s %s %s", svc.Name, svc.Version, describe(n))
		}
	}

	type event struct {
		res *registry.Result
		err error
	}
	events := make(chan event)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer w.Stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			res, err := w.Next()
			select {
			case events <- event{res, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var tick <-chan time.Time
	if s.callEvery > 0 {
		t := time.NewTicker(s.callEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			say("stopped watching")
			return nil
		case ev := <-events:
			if ev.err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch %s: %w", s.service, ev.err)
			}
			for _, n := range ev.res.Service.Nodes {
				say("%-7s %s %s %s", ev.res.Action, ev.res.Service.Name, ev.res.Service.Version, describe(n))
			}
		case <-tick:
			if rsp, node, err := callHello(ctx, service.Client(), s); err != nil {
				say("call failed: %v", err)
			} else {
				say("call: %q answered by %s", rsp.Greeting, describe(node))
			}
		}
	}
}

// describe names a node for people.
func describe(n *registry.Node) string {
	if n == nil {
		return "no node"
	}
	return fmt.Sprintf("node %s at %s (host %s)", n.Id, n.Address, n.Metadata[greeter.HostLabel])
}

// pause waits for d or until ctx ends; it reports whether ctx is still
// live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

var sayMu sync.Mutex // serialises output lines

// say prints one line, stamped with the time of day.
func say(format string, args ...any) {
	sayMu.Lock()
	defer sayMu.Unlock()
	fmt.Printf(time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
}
