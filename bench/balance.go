package main

// The balance rows (-only balance; make bench-balance): zkbalance against
// go-micro's own strategies, with real go-micro v4 servers and clients in
// this process over go-micro's HTTP transport on loopback, registered in
// the ensemble by this plugin. Three servers answer the same service; one
// is five times slower. Each has two slots (a machine with two cores): a
// request takes a free slot for its time, or waits for one. One client
// calls from a few goroutines, each call after the last (a closed loop),
// with each strategy in turn; the servers publish their loads
// (zkbalance.Load, every second) all along. Then one server's wrapper is
// driven at 10,000 requests a second to count the writes of its znode.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"
	"go-micro.dev/v4/transport"

	"github.com/zkmicro/zookeeper/zkbalance"
)

// The balance scenario.
const (
	balancePrefix  = "/bench-balance"
	balanceService = "work"
	fastDelay      = 10 * time.Millisecond
	slowDelay      = 5 * fastDelay
	balanceSlots   = 2
	balanceCallers = 6
	busyRate       = 10_000 // requests a second through one server's wrapper
)

// balanceRow is one line of the balance table.
type balanceRow struct {
	name          string
	calls         int
	seconds       float64
	slowShare     float64
	p50, p99      time.Duration
	writesPerNode float64 // per second
}

// Work and its messages: the servers' handler.
type (
	WorkRequest  struct{}
	WorkResponse struct{}
)

// Work is a server with slots: a request takes a free slot for delay.
type Work struct {
	delay time.Duration
	slots chan struct{}
}

// Do serves a request.
func (w *Work) Do(ctx context.Context, _ *WorkRequest, _ *WorkResponse) error {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.slots }()
	t := time.NewTimer(w.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// balanceServer is a running server of the scenario.
type balanceServer struct {
	id   string
	srv  server.Server
	load *zkbalance.Load
	reg  registry.Registry
}

func (s *balanceServer) stop() {
	s.load.Close()
	_ = s.srv.Stop()
	closeRegistry(s.reg)
}

// startBalanceServer starts a server named name answering with delay,
// registered through a registry of its own on addr.
func startBalanceServer(addr, name string, delay time.Duration) (*balanceServer, error) {
	s := &balanceServer{id: balanceService + "-" + name, load: zkbalance.NewLoad(), reg: openOurs(addr, balancePrefix)}
	s.srv = server.NewRPCServer(
		server.Name(balanceService), server.Id(name), server.Address("127.0.0.1:0"),
		server.Registry(s.reg), server.Broker(broker.NewMemoryBroker()), server.Transport(transport.NewHTTPTransport()),
		server.WrapHandler(s.load.HandlerWrapper()),
	)
	if err := s.srv.Handle(s.srv.NewHandler(&Work{delay: delay, slots: make(chan struct{}, balanceSlots)})); err != nil {
		return nil, err
	}
	if err := s.srv.Start(); err != nil {
		return nil, err
	}
	if err := s.load.Start(s.srv); err != nil {
		_ = s.srv.Stop()
		return nil, err
	}
	return s, nil
}

// balance runs the scenario and keeps its rows.
func (x *b) balance() error {
	progress("balance: 3 go-micro servers (two answer in %v, one in %v, %d slots each), %d callers, registered through %s",
		fastDelay, slowDelay, balanceSlots, balanceCallers, x.writer)
	var servers []*balanceServer
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for _, n := range []struct {
		name  string
		delay time.Duration
	}{{"fast-1", fastDelay}, {"fast-2", fastDelay}, {"slow", slowDelay}} {
		s, err := startBalanceServer(x.writer, n.name, n.delay)
		if err != nil {
			return fmt.Errorf("server %s: %w", n.name, err)
		}
		servers = append(servers, s)
	}
	slow := servers[2].id
	reg := openOurs(x.reader, balancePrefix)
	defer closeRegistry(reg)

	warm := time.Duration(x.iters(3, 2)) * time.Second
	measure := time.Duration(x.iters(10, 4)) * time.Second
	for _, s := range []struct {
		name string
		sel  selector.Selector
	}{
		{"go-micro Random", selector.NewSelector(selector.Registry(reg), selector.SetStrategy(selector.Random))},
		{"go-micro RoundRobin", selector.NewSelector(selector.Registry(reg), selector.SetStrategy(selector.RoundRobin))},
		{"zkbalance.LeastLoaded (go-micro's selector)", selector.NewSelector(selector.Registry(reg), selector.SetStrategy(zkbalance.LeastLoaded()))},
		{"zkbalance.NewSelector", zkbalance.NewSelector(selector.Registry(reg))},
	} {
		c := client.NewClient(
			client.Selector(s.sel), client.Registry(reg), client.Transport(transport.NewHTTPTransport()),
			client.Broker(broker.NewMemoryBroker()), client.Retries(0), client.RequestTimeout(30*time.Second),
			client.PoolSize(0),
		)
		callLoop(c, balanceCallers, warm)
		before, err := x.versions(servers)
		if err != nil {
			return err
		}
		start := time.Now()
		tr := callLoop(c, balanceCallers, measure)
		elapsed := time.Since(start).Seconds()
		after, err := x.versions(servers)
		_ = s.sel.Close()
		if err != nil {
			return err
		}
		if tr.failed > 0 {
			x.note("balance: %s: %d of %d calls failed", s.name, tr.failed, len(tr.latencies))
		}
		r := balanceRow{
			name: s.name, calls: len(tr.latencies), seconds: elapsed,
			slowShare:     float64(tr.picks[slow]) / float64(max(1, len(tr.latencies))),
			p50:           quantile(tr.latencies, 0.5),
			p99:           quantile(tr.latencies, 0.99),
			writesPerNode: float64(after-before) / float64(len(servers)) / elapsed,
		}
		x.balanceRows = append(x.balanceRows, r)
		progress("balance: %-44s %6.0f calls/s, %5.1f%% to the slow server, p50 %v, p99 %v, %.2f writes/node/s",
			r.name, float64(r.calls)/r.seconds, 100*r.slowShare, r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond), r.writesPerNode)
	}

	// One server's wrapper at 10,000 requests a second, its load swinging.
	busy := servers[0]
	before, err := x.versions(servers[:1])
	if err != nil {
		return err
	}
	start := time.Now()
	// Phases as long as the Interval: every load differs from the last
	// one enough to be written, the worst case.
	sent := pace(busy.load, busyRate, measure, zkbalance.DefaultInterval)
	elapsed := time.Since(start).Seconds()
	after, err := x.versions(servers[:1])
	if err != nil {
		return err
	}
	x.busyRow = fmt.Sprintf("Writes under load: %.0f requests/s through one server's wrapper for %.0f s, its load swinging between about 10 and 40 in flight every second (every load worth a write, the worst case): %d writes of its znode, %.2f a second; the bound is 1 per Interval (1 s)",
		float64(sent)/elapsed, elapsed, after-before, float64(after-before)/elapsed)
	progress("balance: %s", x.busyRow)
	return nil
}

// versions returns the sum of the data versions of the servers' znodes:
// each write of a node adds one.
func (x *b) versions(servers []*balanceServer) (int64, error) {
	var sum int64
	for _, s := range servers {
		_, stat, err := x.raw.Get(balancePrefix + "/" + balanceService + "/" + s.id)
		if err != nil {
			return 0, fmt.Errorf("node %s: %w", s.id, err)
		}
		sum += int64(stat.Version)
	}
	return sum, nil
}

// calls is what callLoop saw.
type calls struct {
	picks     map[string]int
	failed    int
	latencies []time.Duration // sorted
}

// callLoop calls from callers goroutines, each call after the last, for d.
func callLoop(c client.Client, callers int, d time.Duration) calls {
	deadline := time.Now().Add(d)
	var mu sync.Mutex // guards tr
	tr := calls{picks: map[string]int{}}
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				var picked atomic.Pointer[string]
				record := func(next client.CallFunc) client.CallFunc {
					return func(ctx context.Context, node *registry.Node, req client.Request, rsp interface{}, opts client.CallOptions) error {
						id := node.Id
						picked.Store(&id)
						return next(ctx, node, req, rsp, opts)
					}
				}
				start := time.Now()
				err := c.Call(context.Background(), c.NewRequest(balanceService, "Work.Do", &WorkRequest{}, client.WithContentType("application/json")),
					&WorkResponse{}, client.WithCallWrapper(record))
				took := time.Since(start)
				mu.Lock()
				if p := picked.Load(); p != nil {
					tr.picks[*p]++
				}
				if err != nil {
					tr.failed++
				}
				tr.latencies = append(tr.latencies, took)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(tr.latencies, func(i, j int) bool { return tr.latencies[i] < tr.latencies[j] })
	return tr
}

// quantile is the latency below which a fraction q of sorted fall.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// pace sends requests through l's wrapper, without a network, at rate a
// second for d, and returns how many it sent. A request lasts 1 ms in even
// phases and 4 ms in odd ones, so that the load swings between about
// rate/1000 and 4*rate/1000 requests in flight.
func pace(l *zkbalance.Load, rate int, d, phase time.Duration) int {
	start := time.Now()
	h := l.HandlerWrapper()(func(context.Context, server.Request, interface{}) error {
		pause := time.Millisecond
		if (time.Since(start)/phase)%2 == 1 {
			pause = 4 * time.Millisecond
		}
		time.Sleep(pause)
		return nil
	})
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	sent := 0
	for now := range tick.C {
		elapsed := now.Sub(start)
		if elapsed >= d {
			break
		}
		for due := int(elapsed.Seconds() * float64(rate)); sent < due; sent++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = h(context.Background(), nil, nil)
			}()
		}
	}
	return sent
}

// printBalance writes the balance table and its notes.
func (x *b) printBalance(out *strings.Builder) {
	fmt.Fprintf(out, "| Strategy | calls/s | share to the slow server | p50 | p99 | ZooKeeper writes per node per second |\n")
	fmt.Fprintf(out, "|---|---:|---:|---:|---:|---:|\n")
	for _, r := range x.balanceRows {
		fmt.Fprintf(out, "| %s | %.0f | %.1f%% | %s | %s | %.2f |\n", r.name, float64(r.calls)/r.seconds, 100*r.slowShare,
			format(float64(r.p50), false), format(float64(r.p99), false), r.writesPerNode)
	}
	out.WriteString("\n")
	for _, n := range []string{
		fmt.Sprintf("Balance: three go-micro v4 servers in this process, two answering in %v, one in %v, each with %d slots (a request waits for a free one); %d callers, each call after the last, over go-micro's HTTP transport on loopback; %v per strategy after %v of warm-up. Servers publish their loads with zkbalance.Load (every second, when they change enough).",
			fastDelay, slowDelay, balanceSlots, balanceCallers, time.Duration(x.iters(10, 4))*time.Second, time.Duration(x.iters(3, 2))*time.Second),
		"A perfect balance of the requests in flight would send the slow server about 9% of the calls; a blind one sends it a third, more than it can serve, so calls queue there. LeastLoaded with go-micro's selector sees only the published loads, up to a second old; zkbalance.NewSelector adds the client's own requests in flight.",
		"The clients do not pool connections (client.PoolSize(0)): with go-micro v4.11's HTTP transport, a call sent on a pooled connection right after the previous call on it now and then never reaches the server and fails after the 5 s connection timeout, which would swamp the p99 of every strategy.",
		x.busyRow,
	} {
		fmt.Fprintf(out, "- %s\n", n)
	}
}
