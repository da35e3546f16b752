package engine

import (
	"context"
	"sync"
)

// group owns the background goroutines of a Client and everything built
// on it: the keeper, the owner's and the mirror's workers, the evictor. It
// is the one place that starts them (Go) and waits for them (stop).
type group struct {
	ctx    context.Context // cancelled by stop
	cancel context.CancelFunc

	mu      sync.Mutex // guards stopped, and wg.Add against stop's wg.Wait
	stopped bool
	wg      sync.WaitGroup
}

func newGroup() *group {
	g := &group{}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g
}

// Go runs f on a new goroutine, unless the group is stopping; it reports
// whether f was started. f must return soon after done() is closed.
func (g *group) Go(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
	return true
}

// done is closed when the group starts stopping.
func (g *group) done() <-chan struct{} { return g.ctx.Done() }

// stopping reports whether stop was called.
func (g *group) stopping() bool { return g.ctx.Err() != nil }

// stop refuses new goroutines and cancels the group's context; wait then
// waits for every goroutine. Both are idempotent.
func (g *group) stop() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.cancel()
}

func (g *group) wait() { g.wg.Wait() }
