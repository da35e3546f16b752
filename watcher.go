package zookeeper

import (
	"context"
	"sync"

	"go-micro.dev/v4/registry"
	util "go-micro.dev/v4/util/registry"
)

// zkWatcher implements registry.Watcher over the registry's mirror.
//
// It keeps the view it last reported (node → service) and a set of nodes
// the mirror says have changed since. Next compares each such node's view
// with the mirror and reports the difference: "create" for a node it has not
// reported, "update" when its data changed, "delete" (with the last reported
// node) when it is gone. A node whose service version changed is reported as
// a delete of the old version and a create of the new, which is how
// go-micro's registry/cache groups nodes. Changes that cancel out before
// Next looks (a node created and deleted again) are not reported: the
// watcher converges on the true set, it does not replay history. Its memory
// is bounded by the number of nodes it watches, however slowly Next is
// called.
type zkWatcher struct {
	m   *mirror
	all bool   // watches every service
	dir string // the watched service's directory, when !all

	next sync.Mutex // serialises Next

	mu      sync.Mutex // guards view, pending, queued
	view    map[nodeRef]*mirroredNode
	pending []nodeRef
	marked  map[nodeRef]bool
	queued  []*registry.Result

	kick      chan struct{} // coalescing "pending is not empty"
	stop      chan struct{}
	stopOnce  sync.Once
	stopAfter func() bool // ends the WatchContext hook
}

// nodeRef names a node znode: escaped service and node id.
type nodeRef struct{ dir, child string }

func newWatcher(m *mirror, o registry.WatchOptions) *zkWatcher {
	w := &zkWatcher{
		m:      m,
		all:    o.Service == "",
		view:   map[nodeRef]*mirroredNode{},
		marked: map[nodeRef]bool{},
		kick:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	if !w.all {
		w.dir = escapeSegment(o.Service)
	}
	if o.Context != nil {
		w.stopAfter = context.AfterFunc(o.Context, w.Stop)
	}
	return w
}

// notify marks nodes of dir as changed. Called with the mirror's lock held;
// never blocks.
func (w *zkWatcher) notify(dir string, children map[string]bool) {
	w.mu.Lock()
	for c := range children {
		ref := nodeRef{dir, c}
		if !w.marked[ref] {
			w.marked[ref] = true
			w.pending = append(w.pending, ref)
		}
	}
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Next blocks until a node changes and returns the change, or returns
// registry.ErrWatcherStopped once the watcher is stopped. Each Result's
// Service holds exactly the affected node. Safe for concurrent use; callers
// usually call it from one goroutine.
func (w *zkWatcher) Next() (*registry.Result, error) {
	w.next.Lock()
	defer w.next.Unlock()
	for {
		select {
		case <-w.stop:
			return nil, registry.ErrWatcherStopped
		default:
		}
		if r := w.advance(); r != nil {
			return r, nil
		}
		select {
		case <-w.kick:
		case <-w.stop:
			return nil, registry.ErrWatcherStopped
		}
	}
}

// advance returns the next change, or nil when there is none.
func (w *zkWatcher) advance() *registry.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if len(w.queued) > 0 {
			r := w.queued[0]
			w.queued = w.queued[1:]
			return r
		}
		if len(w.pending) == 0 {
			return nil
		}
		ref := w.pending[0]
		w.pending = w.pending[1:]
		delete(w.marked, ref)

		w.mu.Unlock()
		cur := w.m.current(ref.dir, ref.child) // takes the mirror's lock
		w.mu.Lock()

		prev := w.view[ref]
		if cur == nil {
			delete(w.view, ref)
		} else {
			w.view[ref] = cur
		}
		switch {
		case prev == cur:
		case prev == nil:
			w.queued = append(w.queued, result("create", cur.svc))
		case cur == nil:
			w.queued = append(w.queued, result("delete", prev.svc))
		case prev.sum == cur.sum:
			// Gone and back with the same data (e.g. restored after a
			// session expiry) while nobody looked: nothing to report.
		case prev.svc.Version != cur.svc.Version || prev.svc.Name != cur.svc.Name:
			w.queued = append(w.queued, result("delete", prev.svc), result("create", cur.svc))
		default:
			w.queued = append(w.queued, result("update", cur.svc))
		}
	}
}

func result(action string, s *registry.Service) *registry.Result {
	return &registry.Result{Action: action, Service: util.CopyService(s)}
}

// Stop ends the watcher: Next returns registry.ErrWatcherStopped. It is
// idempotent and safe to call concurrently with Next.
func (w *zkWatcher) Stop() {
	w.stopOnce.Do(func() {
		close(w.stop)
		if w.stopAfter != nil {
			w.stopAfter()
		}
		w.m.unsubscribe(w)
	})
}
