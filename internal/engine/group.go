package engine

import (
	"context"
	"sync"
)

// group owns background goroutines: it is the one place that starts them
// (Go), tells them to stop (stop) and waits for them (wait). A Client's
// group owns the keeper and, through child groups, everything built on the
// client: a Registry's workers and evictor, each Tree's worker. A child
// stops with its parent, or alone (a Tree closed while its client lives
// on); the parent's wait also waits for the goroutines of its children.
//
// Goroutines that read ZooKeeper through a connection's fan-out readers
// (reads.go) and calls waiting for ZooKeeper (conn.go's call) are not in a
// group: they end when ZooKeeper answers or the connection closes, and
// conn.close waits for them.
type group struct {
	ctx    context.Context // cancelled by stop, or by the parent's
	cancel context.CancelFunc
	parent *group // nil for a client's group

	mu      sync.Mutex // guards stopped, and wg.Add against wait
	stopped bool
	wg      sync.WaitGroup
}

func newGroup() *group {
	g := &group{}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g
}

// child returns a group that stops when g stops, or by itself.
func (g *group) child() *group {
	c := &group{parent: g}
	c.ctx, c.cancel = context.WithCancel(g.ctx)
	return c
}

// Go runs f on a new goroutine, unless the group (or its parent) is
// stopping; it reports whether f was started. f must return soon after
// done() is closed.
func (g *group) Go(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped || g.ctx.Err() != nil {
		return false
	}
	g.wg.Add(1)
	run := func() {
		defer g.wg.Done()
		f()
	}
	if g.parent == nil {
		go run()
		return true
	}
	if !g.parent.Go(run) {
		g.wg.Done()
		return false
	}
	return true
}

// done is closed when the group, or its parent, starts stopping.
func (g *group) done() <-chan struct{} { return g.ctx.Done() }

// stopping reports whether the group, or its parent, was stopped.
func (g *group) stopping() bool { return g.ctx.Err() != nil }

// stop refuses new goroutines and cancels the group's context (and so its
// children's); it does not wait: wait does. Both are idempotent.
func (g *group) stop() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.cancel()
}

// wait waits for every goroutine the group started (and, for a parent, its
// children started).
func (g *group) wait() { g.wg.Wait() }
