// Package workqueue is a keyed work queue for reconcile loops: a key added
// many times before a worker takes it is processed once, a key is never
// processed by two workers at once, and a key added while it is processed
// is processed again afterwards. Failed keys come back after an exponential
// backoff. It follows the shape of client-go's workqueue, reduced to what
// the registry needs, plus a pool of workers that grows with the work (see
// Process).
package workqueue

import (
	"container/heap"
	"sync"
	"time"
)

// Queue is a keyed work queue. All methods may be called concurrently.
type Queue struct {
	minBackoff, maxBackoff time.Duration

	mu         sync.Mutex // guards the fields below
	cond       *sync.Cond
	queue      []string            // keys ready for a worker, in order
	dirty      map[string]struct{} // keys waiting in queue or to be re-queued after Done
	processing map[string]struct{} // keys a worker holds
	failures   map[string]int      // consecutive Retry calls per key
	delayed    delayHeap
	shutdown   bool
	delaying   bool // the delay loop runs: started by the first AddAfter

	// The worker pool, when Process was called.
	handle     func(key string)
	spawn      func(func())
	maxWorkers int
	workers    int // pool workers running

	wake chan struct{} // coalescing signal to the delay loop
	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a queue whose Retry waits start at minBackoff and double up
// to maxBackoff.
func New(minBackoff, maxBackoff time.Duration) *Queue {
	q := &Queue{
		minBackoff: minBackoff,
		maxBackoff: maxBackoff,
		dirty:      map[string]struct{}{},
		processing: map[string]struct{}{},
		failures:   map[string]int{},
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues key unless it is already waiting.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue) addLocked(key string) {
	if q.shutdown {
		return
	}
	if _, ok := q.dirty[key]; ok {
		return
	}
	q.dirty[key] = struct{}{}
	if _, ok := q.processing[key]; ok {
		return // Done re-queues it
	}
	q.queue = append(q.queue, key)
	q.cond.Signal()
	q.growLocked()
}

// Process hands keys to handle on a pool of at most max goroutines, which
// spawn starts. A worker is started when a key becomes ready and no worker
// is free to take it, and ends when no key is ready, so an idle queue holds
// no goroutine. handle must end the key with Forget or Retry as needed; the
// pool calls Done. spawn must run its function on a new goroutine that its
// caller owns (waits for); it is called with the queue's lock held and is
// never called after ShutDown. Process may be called once, before any key
// is added.
func (q *Queue) Process(max int, handle func(key string), spawn func(func())) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handle, q.spawn, q.maxWorkers = handle, spawn, max
	q.growLocked()
}

// growLocked starts pool workers while ready keys have no free worker.
func (q *Queue) growLocked() {
	if q.handle == nil {
		return
	}
	for !q.shutdown && q.workers < q.maxWorkers && q.workers-len(q.processing) < len(q.queue) {
		q.workers++
		q.spawn(q.work)
	}
}

// work is one pool worker: it processes ready keys until there is none.
func (q *Queue) work() {
	for {
		key, ok := q.take()
		if !ok {
			return
		}
		q.handle(key)
		q.Done(key)
	}
}

// take returns a ready key without waiting, or false (and retires the
// calling worker) when there is none.
func (q *Queue) take() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown || len(q.queue) == 0 {
		q.workers--
		return "", false
	}
	return q.popLocked(), true
}

// Workers returns the number of pool workers running.
func (q *Queue) Workers() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.workers
}

// AddAfter queues key after d.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	if q.shutdown {
		q.mu.Unlock()
		return
	}
	heap.Push(&q.delayed, delayed{key: key, at: time.Now().Add(d)})
	if !q.delaying {
		// The first delayed key starts the loop: a queue that never
		// retries holds no goroutine.
		q.delaying = true
		q.wg.Add(1)
		go q.delayLoop()
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Retry queues key again after a backoff that grows with each consecutive
// Retry of it, and returns that backoff.
func (q *Queue) Retry(key string) time.Duration {
	q.mu.Lock()
	n := q.failures[key]
	q.failures[key] = n + 1
	q.mu.Unlock()
	d := q.minBackoff
	for i := 0; i < n && d < q.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, q.maxBackoff)
	q.AddAfter(key, d)
	return d
}

// Forget resets key's backoff after it was processed successfully.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	delete(q.failures, key)
	q.mu.Unlock()
}

// Get blocks until a key is ready and returns it, or returns false once the
// queue is shut down. The caller must call Done with the key.
func (q *Queue) Get() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if q.shutdown {
		return "", false
	}
	return q.popLocked(), true
}

// popLocked moves the first ready key to processing and returns it.
func (q *Queue) popLocked() string {
	key := q.queue[0]
	q.queue[0] = ""
	q.queue = q.queue[1:]
	delete(q.dirty, key)
	q.processing[key] = struct{}{}
	return key
}

// Done ends the processing of key; if key was added meanwhile it is queued
// again.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if _, ok := q.dirty[key]; ok && !q.shutdown {
		q.queue = append(q.queue, key)
		q.cond.Signal()
		q.growLocked()
	}
}

// Len returns the number of keys waiting (not delayed, not processing).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown makes Get return false in every worker, drops waiting keys and
// stops the delay loop. It is idempotent.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	if q.shutdown {
		q.mu.Unlock()
		return
	}
	q.shutdown = true
	q.queue = nil
	q.cond.Broadcast()
	q.mu.Unlock()
	close(q.stop)
	q.wg.Wait()
}

func (q *Queue) delayLoop() {
	defer q.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		now := time.Now()
		for len(q.delayed) > 0 && !q.delayed[0].at.After(now) {
			d := heap.Pop(&q.delayed).(delayed)
			q.addLocked(d.key)
		}
		next := time.Hour
		if len(q.delayed) > 0 {
			next = q.delayed[0].at.Sub(now)
		}
		q.mu.Unlock()

		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
		select {
		case <-q.stop:
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

type delayed struct {
	key string
	at  time.Time
}

type delayHeap []delayed

func (h delayHeap) Len() int           { return len(h) }
func (h delayHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h delayHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)        { *h = append(*h, x.(delayed)) }
func (h *delayHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
