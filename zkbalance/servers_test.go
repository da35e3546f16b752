package zkbalance

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"
	"go-micro.dev/v4/transport"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// The tests' go-micro servers and clients: real go-micro RPC servers
// and clients in this process, over go-micro's HTTP transport on loopback,
// registered in a real ZooKeeper through this module's registry.

// zkTimeout bounds the tests' registry calls: generous, for a busy
// machine.
const zkTimeout = 10 * time.Second

// service is the name the tests' servers register.
const service = "work"

// endpoint is the tests' servers' method.
const endpoint = "Worker.Do"

// newRegistry is a registry of its own (a ZooKeeper session) on addr,
// closed at the end of the test.
func newRegistry(t *testing.T, addr string, opts ...registry.Option) registry.Registry {
	t.Helper()
	reg := zookeeper.NewRegistry(append([]registry.Option{registry.Addrs(addr), registry.Timeout(zkTimeout)}, opts...)...)
	t.Cleanup(func() { _ = reg.(interface{ Close() error }).Close() })
	return reg
}

// Request and Response are the messages of Worker.Do (JSON).
type (
	Request  struct{}
	Response struct{ Node string }
)

// Worker is a test server's handler: a machine with a few cores. A
// request takes one of its slots for the worker's delay, waiting for a
// free one if need be, so that a slower worker also queues sooner; or it
// fails at once while the worker fails.
type Worker struct {
	node   string
	delay  atomic.Int64 // nanoseconds
	slots  chan struct{}
	fail   atomic.Bool
	served atomic.Int64 // requests received
}

// Do serves a request.
func (w *Worker) Do(ctx context.Context, _ *Request, rsp *Response) error {
	w.served.Add(1)
	if w.fail.Load() {
		return merrors.InternalServerError("worker", "failing on purpose")
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.slots }()
	timer := time.NewTimer(time.Duration(w.delay.Load()))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	rsp.Node = w.node
	return nil
}

// testServer is a running go-micro server with its Load and Worker.
type testServer struct {
	id     string // the node id
	srv    server.Server
	load   *Load
	worker *Worker
	reg    registry.Registry
}

// startServer starts a server of service, node id service-name, whose
// requests take delay on one of slots slots, publishing its load with
// opts, with a registry of its own on addr (with regOpts); it is stopped
// at the end of the test.
func startServer(t *testing.T, addr, name string, delay time.Duration, slots int, opts []Option, regOpts ...registry.Option) *testServer {
	t.Helper()
	s := &testServer{
		id:     service + "-" + name,
		load:   NewLoad(opts...),
		worker: &Worker{node: service + "-" + name, slots: make(chan struct{}, slots)},
		reg:    newRegistry(t, addr, regOpts...),
	}
	s.worker.delay.Store(int64(delay))
	s.srv = server.NewRPCServer(
		server.Name(service), server.Id(name), server.Address("127.0.0.1:0"),
		server.Registry(s.reg), server.Broker(broker.NewMemoryBroker()), server.Transport(transport.NewHTTPTransport()),
		server.WrapHandler(s.load.HandlerWrapper()),
	)
	require.NoError(t, s.srv.Handle(s.srv.NewHandler(s.worker)))
	require.NoError(t, s.srv.Start())
	require.NoError(t, s.load.Start(s.srv))
	t.Cleanup(func() {
		s.load.Close()
		_ = s.srv.Stop()
	})
	return s
}

// newClient is a go-micro client that picks nodes with sel (over reg), no
// retries; sel is closed at the end of the test. Its connections are not
// pooled: go-micro's HTTP transport (seen with 4.11) loses, now and then, a request
// sent on a pooled connection right after the previous call on it, and
// the call then fails after the client's 5 s connection timeout, which
// would swamp what the tests measure.
func newClient(t *testing.T, reg registry.Registry, sel selector.Selector) client.Client {
	t.Helper()
	c := client.NewClient(
		client.Selector(sel), client.Registry(reg), client.Transport(transport.NewHTTPTransport()),
		client.Broker(broker.NewMemoryBroker()), client.Retries(0), client.RequestTimeout(30*time.Second), client.PoolSize(0),
	)
	t.Cleanup(func() { _ = sel.Close() })
	return c
}

// call makes one call and returns the node picked ("" if none was).
func call(ctx context.Context, c client.Client) (string, error) {
	var picked atomic.Pointer[string]
	record := func(next client.CallFunc) client.CallFunc {
		return func(ctx context.Context, node *registry.Node, req client.Request, rsp interface{}, opts client.CallOptions) error {
			id := node.Id
			picked.Store(&id)
			return next(ctx, node, req, rsp, opts)
		}
	}
	err := c.Call(ctx, c.NewRequest(service, endpoint, &Request{}, client.WithContentType("application/json")), &Response{}, client.WithCallWrapper(record))
	if p := picked.Load(); p != nil {
		return *p, err
	}
	return "", err
}

// traffic is what drive saw.
type traffic struct {
	picks     map[string]int  // node id → calls sent to it
	failed    int             // calls that failed
	latencies []time.Duration // of every call, sorted
}

// total is the number of calls.
func (tr traffic) total() int { return len(tr.latencies) }

// share is the share of the calls sent to node id.
func (tr traffic) share(id string) float64 {
	if tr.total() == 0 {
		return 0
	}
	return float64(tr.picks[id]) / float64(tr.total())
}

// quantile is the latency below which a fraction q of the calls took.
func (tr traffic) quantile(q float64) time.Duration {
	if len(tr.latencies) == 0 {
		return 0
	}
	return tr.latencies[min(len(tr.latencies)-1, int(q*float64(len(tr.latencies))))]
}

// drive calls from workers goroutines, each call after the last, for d.
func drive(c client.Client, workers int, d time.Duration) traffic {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex // guards tr
	tr := traffic{picks: map[string]int{}}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				node, err := call(context.WithoutCancel(ctx), c)
				took := time.Since(start)
				mu.Lock()
				tr.picks[node]++
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

// recorder calls from a few goroutines, one call after the other, until
// stopped, and keeps the time and node of every pick.
type recorder struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex // guards picks
	picks []pick
}

// pick is one call's node, and when it was sent.
type pick struct {
	at   time.Time
	node string
	err  error
}

// record starts a recorder of calls by c from workers goroutines, stopped
// at the end of the test.
func record(t *testing.T, c client.Client, workers int) *recorder {
	r := &recorder{stop: make(chan struct{})}
	for range workers {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				select {
				case <-r.stop:
					return
				default:
				}
				at := time.Now()
				node, err := call(context.Background(), c)
				r.mu.Lock()
				r.picks = append(r.picks, pick{at: at, node: node, err: err})
				r.mu.Unlock()
			}
		}()
	}
	t.Cleanup(r.close)
	return r
}

// close stops the calls and waits for them. It is idempotent.
func (r *recorder) close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.wg.Wait()
}

// since returns the picks sent at or after t.
func (r *recorder) since(t time.Time) []pick {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pick
	for _, p := range r.picks {
		if !p.at.Before(t) {
			out = append(out, p)
		}
	}
	return out
}

// count returns how many of picks went to node.
func count(picks []pick, node string) int {
	n := 0
	for _, p := range picks {
		if p.node == node {
			n++
		}
	}
	return n
}

// pace sends requests through l's wrapper, without a network, at rate a
// second for d, and returns how many it sent. A request lasts 1 ms in even
// 300 ms phases and 4 ms in odd ones, so that the load swings between
// about rate/1000 and 4*rate/1000 requests in flight. (bench/balance.go
// has the same.)
func pace(l *Load, rate int, d time.Duration) int {
	start := time.Now()
	h := l.HandlerWrapper()(func(context.Context, server.Request, interface{}) error {
		pause := time.Millisecond
		if (time.Since(start)/(300*time.Millisecond))%2 == 1 {
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

// rawConn is a plain zk connection to addr with a session, closed at the
// end of the test.
func rawConn(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect([]string{addr}, zkTimeout, zk.WithLogInfo(false))
	require.NoError(t, err)
	t.Cleanup(conn.Close)
	zktest.Eventually(t, zkTimeout, func() bool { return conn.State() == zk.StateHasSession }, "no session with %s", addr)
	return conn
}
