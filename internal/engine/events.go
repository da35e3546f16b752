package engine

import (
	"sync"

	"github.com/go-zookeeper/zk"
)

// eventQueue carries zk events from zk's callback, which must never block,
// to the keeper. It is unbounded: the keeper drains it continuously.
type eventQueue struct {
	mu     sync.Mutex // guards items
	items  []connEvent
	signal chan struct{} // coalescing "items is not empty"
}

// connEvent is a zk event and the connection it came from, or (attached
// set) the news that a listener attached to a client whose keeper runs.
type connEvent struct {
	gen uint64
	zk.Event
	attached sessionListener
}

func newEventQueue() *eventQueue {
	return &eventQueue{signal: make(chan struct{}, 1)}
}

// push adds an event; it never blocks.
func (q *eventQueue) push(gen uint64, e zk.Event) {
	q.mu.Lock()
	q.items = append(q.items, connEvent{gen: gen, Event: e})
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pushAttached queues the news that l attached; it never blocks.
func (q *eventQueue) pushAttached(l sessionListener) {
	q.mu.Lock()
	q.items = append(q.items, connEvent{attached: l})
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// drain takes every queued event, in order.
func (q *eventQueue) drain() []connEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
