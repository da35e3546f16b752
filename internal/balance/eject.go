package balance

import (
	"strings"
	"sync"
	"time"
)

// Ejector takes failing nodes out of a client's choice for a while, as
// Curator's DownInstancePolicy and Envoy's outlier detection do: a node
// that fails a number of times in a row is ejected for a backoff period,
// then let back. If it fails that many times in a row again before a
// success, the next period is twice as long, up to a maximum; a success
// starts over. Failures reported while a node is ejected (requests sent
// before) are not counted. Nodes are named by keys (a service and a node
// id). Its methods may be called concurrently.
type Ejector struct {
	failures        int           // consecutive failures that eject a node (>= 1)
	backoff, maxOff time.Duration // first ejection period, and the longest (0 < backoff <= maxOff)

	// now is the clock; time.Now when nil (tests set it).
	now func() time.Time

	mu    sync.Mutex // guards the fields below
	nodes map[string]*health
	swept time.Time // last sweep of forgotten nodes
}

// health is what an Ejector knows of one node.
type health struct {
	consecutive int       // failures in a row, since the last success or ejection
	ejections   int       // ejections since the last success
	until       time.Time // ejected until then
	touched     time.Time // last reported result
}

// NewEjector returns an Ejector that ejects a node after failures
// consecutive failures (>= 1) for backoff, doubled at each ejection that
// follows without a success, up to maxBackoff (>= backoff).
func NewEjector(failures int, backoff, maxBackoff time.Duration) *Ejector {
	return &Ejector{failures: failures, backoff: backoff, maxOff: max(backoff, maxBackoff)}
}

// Report records the result of a request to the node key: failed or not.
// It returns the period for which the node is now ejected, or 0 when this
// report ejected nothing.
func (e *Ejector) Report(key string, failed bool) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock()
	e.sweep(now)
	h := e.nodes[key]
	if !failed {
		if h != nil && !now.Before(h.until) {
			delete(e.nodes, key) // a success: nothing left to remember
		}
		return 0
	}
	if h == nil {
		if e.nodes == nil {
			e.nodes = map[string]*health{}
		}
		h = &health{}
		e.nodes[key] = h
	}
	h.touched = now
	if now.Before(h.until) {
		return 0 // sent before the ejection
	}
	h.consecutive++
	if h.consecutive < e.failures {
		return 0
	}
	h.consecutive = 0
	h.ejections++
	d := e.backoff
	for i := 1; i < h.ejections && d < e.maxOff; i++ {
		d *= 2
	}
	d = min(d, e.maxOff)
	h.until = now.Add(d)
	return d
}

// Ejected reports whether the node key is ejected now.
func (e *Ejector) Ejected(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.nodes[key]
	return h != nil && e.clock().Before(h.until)
}

// Any reports whether some node may be ejected: false means Ejected is
// false for every key (a cheap test before filtering a list).
func (e *Ejector) Any() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.nodes) > 0
}

// Forget forgets the nodes whose keys start with prefix (every node for
// ""): they are no longer ejected, and their failures start over.
func (e *Ejector) Forget(prefix string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.nodes {
		if strings.HasPrefix(k, prefix) {
			delete(e.nodes, k)
		}
	}
}

// sweep forgets, at most once per maximum period, the nodes that have been
// neither ejected nor reported for that long (gone from the registry, most
// likely). e.mu is held.
func (e *Ejector) sweep(now time.Time) {
	if now.Sub(e.swept) < e.maxOff {
		return
	}
	e.swept = now
	for k, h := range e.nodes {
		if now.Sub(h.until) >= e.maxOff && now.Sub(h.touched) >= e.maxOff {
			delete(e.nodes, k)
		}
	}
}

// clock returns the time.
func (e *Ejector) clock() time.Time {
	if e.now != nil {
		return e.now()
	}
	return time.Now()
}
