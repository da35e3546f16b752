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
// the registry's mirrors (one per format it reads).
//
// A mirror's nodes are immutable and replaced on every change, and the
// mirror tells each of its watchers every change with the node it replaced.
// So a watcher keeps no copy of what it watches: what it last reported of a
// node is the mirror's node, but for the nodes changed since, whose last
// reported state it records (prev) until Next looks at them. Next compares
// each such node's reported state with the mirror's and reports the
// difference: "create" for a node it has not reported, "update" when its
// data changed, "delete" (with the last reported node) when it is gone. A
// node whose service version or name changed is reported as a delete of
// the old and a create of the new, which is how go-micro's registry/cache
// groups nodes. Changes that cancel out before Next looks (a node created
// and deleted again) are not reported: the watcher converges on the true
// set, it does not replay history. Its memory is bounded by the number of
// nodes changed and not yet reported, however slowly Next is called, and
// does not grow with the number of nodes it watches.
type Watcher struct {
	srcs      []watchSource // the mirrors it is fed from, one per format
	all       bool          // watches every service
	dirs      []dirRef      // the watched service's directory in each source, when !all ("": none there)
	fromEmpty bool          // the starting point is reported as creates (WatchFromEmpty)

	next sync.Mutex // serialises Next

	mu        sync.Mutex                   // guards the fields below
	prev      map[sourcedRef]*mirroredNode // the nodes changed since Next looked: what it last reported of each (nil: nothing)
	pending   []sourcedRef                 // prev's keys, in the order they changed
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
		srcs: srcs,
		all:  dirs == nil,
		dirs: dirs,
		prev: map[sourcedRef]*mirroredNode{},
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
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

// startFrom marks the node at ref of source src to be reported as
// created (WatchFromEmpty's starting point). Called before the watcher is
// subscribed, with that source's lock held.
func (w *Watcher) startFrom(src int, ref nodeRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markLocked(sourcedRef{src, ref}, nil)
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// markLocked records that ref changed from what was last reported, old,
// unless it is pending already. w.mu must be held.
func (w *Watcher) markLocked(ref sourcedRef, old *mirroredNode) {
	if _, pending := w.prev[ref]; !pending {
		w.prev[ref] = old
		w.pending = append(w.pending, ref)
	}
}

// notify tells the watcher that nodes of directory dir of source src
// changed: changed maps each child to its node before the change (nil
// when it had none, or its data was not a registration). Called with that
// source's lock held, with every change; never blocks.
func (w *Watcher) notify(src int, dir dirRef, changed map[string]*mirroredNode) {
	w.mu.Lock()
	for c, old := range changed {
		w.markLocked(sourcedRef{src, nodeRef{dir, c}}, old)
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
		prev := w.prev[ref]
		delete(w.prev, ref)

		w.mu.Unlock()
		cur := w.srcs[ref.src].current(ref.ref) // takes the source's lock
		w.mu.Lock()

		if _, again := w.prev[ref]; again {
			// It changed again while the source was read: what is
			// reported now is cur, the state the next look starts from.
			w.prev[ref] = cur
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
		return []Event{{ActionCreate, cur.service()}}
	case cur == nil:
		return []Event{{ActionDelete, prev.service()}}
	case prev.sum == cur.sum:
		// Gone and back with the same data (e.g. restored after a session
		// expiry) while nobody looked: nothing to report.
		return nil
	case prev.head.Version != cur.head.Version || prev.head.Name != cur.head.Name:
		return []Event{{ActionDelete, prev.service()}, {ActionCreate, cur.service()}}
	default:
		return []Event{{ActionUpdate, cur.service()}}
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
