package engine

import (
	"sync"
	"time"
)

// This file is the one home of the registry's guarantee across a session
// expiry: watchers in this process never see the process's own nodes
// vanish and come back. When a new session replaces an expired one, its
// watches and the registry's ephemeral nodes are gone. If the mirror read
// the new session at once, it would find the registry's own nodes missing
// (until the owner re-creates them) and report them deleted, then created
// again. So a restore runs in three steps:
//
//  1. hold: the mirror's entries become stale and its workers wait
//     (sessionGate); lookups wait for a sync, as they do on first use;
//  2. the owner re-creates every node the registry keeps, in the new
//     session, and reports when it is done (or a bound, the configured
//     timeout, passes: a node that cannot be written does not hold the
//     mirror back for longer);
//  3. release: the mirror re-lists and re-reads everything it follows, and
//     its watchers get the difference with what they last reported, which
//     leaves out the registry's own nodes (restored with the same data).

// nodeRestorer is what a restore needs of the owner.
type nodeRestorer interface {
	// newSession re-creates every owned node in the session that replaced
	// prev, and returns a channel closed once each was written (or failed
	// for good).
	newSession(prev int64) <-chan struct{}
	// count returns how many nodes are registered.
	count() int
}

// resyncer is what a restore needs of the mirror.
type resyncer interface {
	// invalidate marks everything mirrored stale: lookups wait for the
	// resync.
	invalidate()
	// resyncAll re-lists and re-reads everything mirrored.
	resyncAll()
}

// sessionGate is what the mirror's workers ask before they read: whether
// a restore holds them.
type sessionGate interface {
	// wait blocks while a restore holds the mirror; false if stop closed
	// first.
	wait(stop <-chan struct{}) bool
	// holding reports whether a restore holds the mirror now.
	holding() bool
}

// restorer runs the restores of one registry (see the top of this file),
// over its owners and mirrors, one of each per format.
type restorer struct {
	owners  []nodeRestorer
	mirrors []resyncer
	group   *group // runs the wait of step 2

	mu   sync.Mutex    // guards gate
	gate chan struct{} // closed when the restore in progress ends; nil when none
}

var _ sessionGate = (*restorer)(nil)

// sessionStarted runs a restore for the session sid that replaced prev (0
// for the first session: nothing to restore, but the mirror's watches are
// new too).
func (r *restorer) sessionStarted(cfg Config, prev, sid int64) {
	n := 0
	for _, o := range r.owners {
		n += o.count()
	}
	if n > 0 {
		cfg.logger.Logf(LevelInfo, "zookeeper: restoring %d registrations in session 0x%x", n, sid)
	}
	gate := make(chan struct{})
	r.mu.Lock()
	r.gate = gate
	r.mu.Unlock()
	for _, m := range r.mirrors {
		m.invalidate()
	}
	restored := make([]<-chan struct{}, len(r.owners))
	for i, o := range r.owners {
		restored[i] = o.newSession(prev)
	}
	if !r.group.Go(func() { r.release(gate, restored, cfg.timeout) }) {
		r.end(gate)
	}
}

// release waits until the owners restored the registry's nodes, or limit
// passes, or the registry closes, then lets the mirrors read again.
func (r *restorer) release(gate chan struct{}, restored []<-chan struct{}, limit time.Duration) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for _, ch := range restored {
		select {
		case <-ch:
			continue
		case <-t.C:
		case <-r.group.done():
		}
		break
	}
	r.end(gate)
}

// end ends the restore of gate and starts the mirror's resync. A newer
// restore that started meanwhile keeps holding.
func (r *restorer) end(gate chan struct{}) {
	r.mu.Lock()
	close(gate)
	current := r.gate == gate
	if current {
		r.gate = nil
	}
	r.mu.Unlock()
	for _, m := range r.mirrors {
		m.resyncAll()
	}
}

func (r *restorer) wait(stop <-chan struct{}) bool {
	for {
		r.mu.Lock()
		g := r.gate
		r.mu.Unlock()
		if g == nil {
			return true
		}
		select {
		case <-g:
		case <-stop:
			return false
		}
	}
}

func (r *restorer) holding() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gate != nil
}
