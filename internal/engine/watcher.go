package engine

import (
	"context"
	"sync"
)

// Actions of an Event, as go-micro's registry.Result names them.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Event is one change a Watcher reports: Service holds exactly the node
// created, updated or deleted (for a delete, the node as last reported).
// Service is shared with the mirror and read-only.
type Event struct {
	Action  string
	Service *Service
}

// watchSource is what a Watcher reads: the mirror, or a fake in unit
// tests.
type watchSource interface {
	// current returns node r as it is now, nil if gone or not a
	// registration.
	current(r nodeRef) *mirroredNode
	// unsubscribe stops notifying w.
	unsubscribe(w *Watcher)
}

// Watcher reports the changes of one service, or of all services, fed by
// the registry's mirror.
//
// It keeps the view it last reported (node → state) and the set of nodes
// the mirror says have changed since. Next compares each such node's view
// with the mirror and reports the difference: "create" for a node it has
// not reported, "update" when its data changed, "delete" (with the last
// reported node) when it is gone. A node whose service version or name
// changed is reported as a delete of the old and a create of the new,
// which is how go-micro's registry/cache groups nodes. Changes that cancel
// out before Next looks (a node created and deleted again) are not
// reported: the watcher converges on the true set, it does not replay
// history. Its memory is bounded by the number of nodes it watches,
// however slowly Next is called.
type Watcher struct {
	srcs      []watchSource // the mirrors it is fed from, one per format
	all       bool          // watches every service
	dirs      []dirRef      // the watched service's directory in each source, when !all ("": none there)
	fromEmpty bool          // the starting point is reported as creates (WatchFromEmpty)

	next sync.Mutex // serialises Next

	mu        sync.Mutex // guards the fields below
	view      map[sourcedRef]*mirroredNode
	pending   []sourcedRef
	marked    map[sourcedRef]bool
	queued    []Event
	stopAfter func() bool // ends the stop-context hook

	kick     chan struct{} // coalescing "pending is not empty"
	stop     chan struct{}
	stopOnce sync.Once
}

// sourcedRef is a node of one of a Watcher's sources.
type sourcedRef struct {
	src int
	ref nodeRef
}

// newWatcher returns a watcher over srcs of all services, or (dirs not
// nil) of the service whose directory in srcs[i] is dirs[i] ("" where that
// source cannot hold it), stopped when stopWhen (if not nil) ends.
func newWatcher(srcs []watchSource, dirs []dirRef, stopWhen context.Context) *Watcher {
	w := &Watcher{
		srcs:   srcs,
		all:    dirs == nil,
		dirs:   dirs,
		view:   map[sourcedRef]*mirroredNode{},
		marked: map[sourcedRef]bool{},
		kick:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	if stopWhen != nil {
		// An already cancelled context runs Stop at once, on another
		// goroutine: stopAfter is set under w.mu, which Stop takes.
		w.mu.Lock()
		w.stopAfter = context.AfterFunc(stopWhen, w.Stop)
		w.mu.Unlock()
	}
	return w
}

// follows reports whether the watcher follows directory dir of source src.
func (w *Watcher) follows(src int, dir dirRef) bool {
	return w.all || (src < len(w.dirs) && w.dirs[src] != "" && w.dirs[src] == dir)
}

// start sets the watcher's starting point: the node n at ref of source
// src is in its view, or, with fromEmpty, marked to be reported as
// created. Called before the watcher is subscribed, with that source's
// lock held.
func (w *Watcher) start(src int, ref nodeRef, n *mirroredNode) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sr := sourcedRef{src, ref}
	if !w.fromEmpty {
		w.view[sr] = n
		return
	}
	if !w.marked[sr] {
		w.marked[sr] = true
		w.pending = append(w.pending, sr)
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// notify marks nodes of directory dir of source src as changed. Called
// with that source's lock held; never blocks.
func (w *Watcher) notify(src int, dir dirRef, children map[string]bool) {
	w.mu.Lock()
	for c := range children {
		ref := sourcedRef{src, nodeRef{dir, c}}
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
// ErrWatcherStopped once the watcher is stopped. Safe for concurrent use;
// callers usually call it from one goroutine.
func (w *Watcher) Next() (Event, error) {
	w.next.Lock()
	defer w.next.Unlock()
	for {
		select {
		case <-w.stop:
			return Event{}, ErrWatcherStopped
		default:
		}
		if e, ok := w.advance(); ok {
			return e, nil
		}
		select {
		case <-w.kick:
		case <-w.stop:
			return Event{}, ErrWatcherStopped
		}
	}
}

// TryNext returns the next change if there is one now, and false without
// waiting when there is none (or the watcher is stopped). A client that
// starts from WatchFromEmpty takes the starting point's creates with it
// before it first acts on its state. Safe for concurrent use with Next.
func (w *Watcher) TryNext() (Event, bool) {
	w.next.Lock()
	defer w.next.Unlock()
	select {
	case <-w.stop:
		return Event{}, false
	default:
	}
	return w.advance()
}

// advance returns the next change, false when there is none.
func (w *Watcher) advance() (Event, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if len(w.queued) > 0 {
			e := w.queued[0]
			w.queued = w.queued[1:]
			return e, true
		}
		if len(w.pending) == 0 {
			return Event{}, false
		}
		ref := w.pending[0]
		w.pending = w.pending[1:]
		delete(w.marked, ref)

		w.mu.Unlock()
		cur := w.srcs[ref.src].current(ref.ref) // takes the source's lock
		w.mu.Lock()

		prev := w.view[ref]
		if cur == nil {
			delete(w.view, ref)
		} else {
			w.view[ref] = cur
		}
		w.queued = append(w.queued, diff(prev, cur)...)
	}
}

// diff returns the events that turn a node's reported state prev into cur
// (either may be nil: not there).
func diff(prev, cur *mirroredNode) []Event {
	switch {
	case prev == cur:
		return nil
	case prev == nil:
		return []Event{{ActionCreate, cur.svc}}
	case cur == nil:
		return []Event{{ActionDelete, prev.svc}}
	case prev.sum == cur.sum:
		// Gone and back with the same data (e.g. restored after a session
		// expiry) while nobody looked: nothing to report.
		return nil
	case prev.svc.Version != cur.svc.Version || prev.svc.Name != cur.svc.Name:
		return []Event{{ActionDelete, prev.svc}, {ActionCreate, cur.svc}}
	default:
		return []Event{{ActionUpdate, cur.svc}}
	}
}

// Stop ends the watcher: Next returns ErrWatcherStopped. It is idempotent
// and safe to call concurrently with Next.
func (w *Watcher) Stop() {
	w.stopOnce.Do(func() {
		close(w.stop)
		w.mu.Lock()
		stopAfter := w.stopAfter
		w.mu.Unlock()
		if stopAfter != nil {
			stopAfter()
		}
		for _, src := range w.srcs {
			src.unsubscribe(w)
		}
	})
}

// Stopped is closed when the watcher is stopped.
func (w *Watcher) Stopped() <-chan struct{} { return w.stop }
