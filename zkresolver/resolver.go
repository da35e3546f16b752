package zkresolver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// Waits before the resolver watches again after a failure: minRetry, then
// doubled after each failure up to maxRetry, each ±20% (jitter).
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 10 * time.Second
)

// source is what a resolver uses of its registry (*engine.Registry).
type source interface {
	Watch(ctx context.Context, service string, stopWhen context.Context, opts ...engine.WatchOption) (*engine.Watcher, error)
}

var _ source = (*engine.Registry)(nil)

// zkResolver is the resolver of one target: a watch of its service in the
// registry's mirror, whose changes it pushes to grpc.
//
// Two goroutines: follow watches the service (again after a failure) and
// applies each change to nodes; push sends grpc the latest state whenever
// there is something new, so that a burst of changes costs grpc a few
// updates, not one per change. Only push calls cc, so grpc sees the
// updates and errors in order.
type zkResolver struct {
	reg    source
	target target
	cc     resolver.ClientConn

	ctx       context.Context // ends at Close: stops the watcher and every wait
	cancel    context.CancelFunc
	wg        sync.WaitGroup // follow and push
	closeOnce sync.Once

	kick chan struct{} // coalescing "something to push"

	mu      sync.Mutex      // guards the fields below
	nodes   map[string]Node // the service's nodes (every version) by id; nil before the first read
	changed bool            // nodes changed since the last push
	failure error           // to report at the next push
}

// startResolver starts the resolver of t over reg, reporting to cc.
func startResolver(reg source, t target, cc resolver.ClientConn) *zkResolver {
	r := &zkResolver{reg: reg, target: t, cc: cc, kick: make(chan struct{}, 1)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Add(2)
	go r.follow()
	go r.push()
	return r
}

// ResolveNow does nothing: the resolver's watch reports every change as
// ZooKeeper tells it, and asking again would give the same answer. grpc
// calls it when a connection fails, which the registry reflects once the
// node's session expires. Safe to call concurrently.
func (r *zkResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close stops the resolver's watch and goroutines and waits for them. It
// is idempotent and safe to call concurrently.
func (r *zkResolver) Close() {
	r.closeOnce.Do(func() {
		r.cancel()
		r.wg.Wait()
	})
}

// follow watches the service until Close, and again after each failure:
// a failure is reported to grpc and keeps the nodes last seen (the
// servers likely still run), but the registry's closing drops them.
func (r *zkResolver) follow() {
	defer r.wg.Done()
	var retry backoff
	for {
		w, err := r.start()
		if err == nil {
			retry.reset()
			err = r.track(w)
		}
		switch {
		case r.ctx.Err() != nil:
			return
		case errors.Is(err, engine.ErrClosed):
			r.update(map[string]Node{}, r.wrap(err))
			return
		case errors.Is(err, engine.ErrWatcherStopped):
			// The registry stopped the watcher (closing: the next watch
			// says so): watch again.
		default:
			r.update(nil, r.wrap(err))
		}
		if !retry.wait(r.ctx) {
			return
		}
	}
}

// start watches the service from empty (engine.WatchFromEmpty): the
// watcher's first events are the nodes of its starting point, as creates,
// which start takes at once (TryNext) to make the base it hands to grpc;
// every change after that point follows in track. Built from the events
// alone, the resolver's nodes are the true set, across expiries and
// reconnections too (the engine's watchers never report the registry's
// own restored nodes as gone).
func (r *zkResolver) start() (*engine.Watcher, error) {
	w, err := r.reg.Watch(r.ctx, r.target.service, r.ctx, engine.WatchFromEmpty())
	if err != nil {
		return nil, err
	}
	nodes := make(map[string]Node)
	for {
		e, ok := w.TryNext()
		if !ok {
			break
		}
		if len(e.Service.Nodes) == 1 && e.Action != engine.ActionDelete {
			nodes[e.Service.Nodes[0].Id] = newNode(e.Service, e.Service.Nodes[0])
		}
	}
	r.update(nodes, nil)
	return w, nil
}

// track applies the watcher's changes until it stops, and stops it.
func (r *zkResolver) track(w *engine.Watcher) error {
	defer w.Stop()
	for {
		e, err := w.Next()
		if err != nil {
			return err
		}
		if len(e.Service.Nodes) != 1 {
			continue // never: an event holds exactly its node
		}
		n := e.Service.Nodes[0]
		r.mu.Lock()
		if e.Action == engine.ActionDelete {
			delete(r.nodes, n.Id)
		} else {
			r.nodes[n.Id] = newNode(e.Service, n)
		}
		r.changed = true
		r.mu.Unlock()
		r.poke()
	}
}

// update replaces the nodes (unless nodes is nil) and sets the error to
// report (unless failure is nil), for the next push.
func (r *zkResolver) update(nodes map[string]Node, failure error) {
	r.mu.Lock()
	if nodes != nil {
		r.nodes, r.changed = nodes, true
	}
	if failure != nil {
		r.failure = failure
	}
	r.mu.Unlock()
	r.poke()
}

// poke wakes push; it never blocks.
func (r *zkResolver) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// push sends grpc what changed, each time poke says something did, until
// Close. A list that did not change is not sent again, unless an error
// was reported since. An empty list is sent (grpc's balancers then drop
// every connection) and followed by an error that says why. UpdateState's
// errors are ignored, as grpc allows a watch-based resolver to: it
// returns balancer.ErrBadResolverState for the empty list, already
// reported, and asking again would change nothing.
func (r *zkResolver) push() {
	defer r.wg.Done()
	var (
		last     []Node // what the last UpdateState offered
		pushed   bool   // whether UpdateState was called
		reported bool   // whether an error was reported since
	)
	same := func(a, b Node) bool { return a.Equal(b) }
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.kick:
		}
		r.mu.Lock()
		changed, failure := r.changed, r.failure
		var offer []Node
		if changed {
			offer = offered(r.nodes, r.target.version)
		}
		r.changed, r.failure = false, nil
		r.mu.Unlock()

		if changed && (!pushed || reported || !slices.EqualFunc(offer, last, same)) {
			_ = r.cc.UpdateState(newState(offer))
			last, pushed, reported = offer, true, false
			if len(offer) == 0 && failure == nil {
				failure = r.noNodes()
			}
		}
		if failure != nil {
			r.cc.ReportError(failure)
			reported = true
		}
	}
}

// noNodes is the error of a target without nodes.
func (r *zkResolver) noNodes() error {
	if r.target.version != "" {
		return r.wrap(fmt.Errorf("no nodes of version %q", r.target.version))
	}
	return r.wrap(errors.New("no nodes"))
}

// wrap names the target in err, prefixed "zookeeper: " once.
func (r *zkResolver) wrap(err error) error {
	return &resolveError{service: r.target.service, err: err}
}

// resolveError is an error of the resolver of service.
type resolveError struct {
	service string
	err     error
}

func (e *resolveError) Error() string {
	return fmt.Sprintf("zookeeper: resolve service %q: %s", e.service, strings.TrimPrefix(e.err.Error(), "zookeeper: "))
}

func (e *resolveError) Unwrap() error { return e.err }

// backoff is the wait between failed watches.
type backoff struct {
	next time.Duration // 0: minRetry
}

// reset makes the next wait minRetry.
func (b *backoff) reset() { b.next = 0 }

// wait waits for the next delay, and returns false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	d := max(b.next, minRetry)
	b.next = min(2*d, maxRetry)
	d = d*4/5 + rand.N(d*2/5+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
