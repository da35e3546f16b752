package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// This file is the mirror's sync step, run by its workers: take the work
// pending for a service, fetch what it needs from ZooKeeper, then apply
// the result and notify watchers. Only the take and apply steps hold
// mirror.mu; the fetch runs without it.

// handle is the workers' handler for one key: a service directory, or
// allKey for the list of services.
func (m *mirror) handle(key string) {
	if !m.deps.gate.wait(m.deps.sessions.done()) {
		m.queue.Forget(key)
		return
	}
	var err error
	if key == allKey {
		err = m.syncAll()
	} else {
		err = m.syncService(key)
	}
	select {
	case <-m.deps.sessions.done():
		m.queue.Forget(key)
		return
	default:
	}
	switch {
	case err == nil || errors.Is(err, ErrClosed):
		m.queue.Forget(key)
	case isTransient(err):
		m.queue.Retry(key)
	default:
		d := m.queue.Retry(key)
		m.deps.sessions.logger().Logf(LevelWarn, "zookeeper: mirroring %q (retry in %v): %v", key, d, err)
	}
}

// session returns the session a worker syncs with. A worker may have
// passed the gate before a new session replaced an expired one and then
// waited here for it: while a restore holds the mirror it must not read
// the new session, which does not show the registry's own nodes yet
// (watchers would see them vanish and come back). It gets a transient
// error and retries once the restore ends, which queues a full resync
// anyway.
func (m *mirror) session(ctx context.Context) (*Session, error) {
	s, err := m.deps.sessions.session(ctx)
	if err != nil {
		return nil, err
	}
	if m.deps.gate.holding() {
		return nil, errConnReplaced
	}
	return s, nil
}

// layout returns the mirror's layout for cfg.
func (m *mirror) layout(cfg Config) layout {
	l, _ := m.deps.format.layout(cfg)
	return l
}

// syncAll lists the service directories under the root and mirrors each.
func (m *mirror) syncAll() error {
	m.mu.Lock()
	a := m.all
	if a == nil {
		m.mu.Unlock()
		return nil
	}
	a.pending = false
	epoch := a.epoch
	m.mu.Unlock()

	ctx, cancel := m.deps.sessions.begin(context.Background())
	defer cancel()
	children, err := m.listRoot(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.all != a {
		return nil // evicted meanwhile
	}
	if err != nil {
		a.pending = true
		return err
	}
	present := make(map[dirRef]bool, len(children))
	for _, dir := range children {
		present[dir] = true
		m.serviceLocked(dir).byAll = true
	}
	a.dirs = children
	for dir, e := range m.services {
		if !present[dir] {
			e.byAll = false
		}
	}
	if !a.listed && a.epoch == epoch {
		a.listed = true
		close(a.syncCh)
	}
	return nil
}

func (m *mirror) listRoot(ctx context.Context) ([]dirRef, error) {
	s, err := m.session(ctx)
	if err != nil {
		return nil, err
	}
	root := m.layout(s.cfg).root
	sid := s.ID()
	children, err := listWatched(ctx, s.conn, root)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	if s.ID() != sid {
		return nil, errSessionReplaced
	}
	return children, nil
}

// listWatched lists the children of p and leaves a watch that fires when
// they change or when p is created or deleted. A missing p has no
// children.
func listWatched(ctx context.Context, c *conn, p string) ([]string, error) {
	for attempt := 0; attempt < 3; attempt++ {
		got, err := c.read(ctx, []readItem{{path: p, need: needList, awaitCreate: true}}, readOptions{watch: true})
		if err != nil {
			return nil, err
		}
		r := got[0]
		switch {
		case r.listErr == nil:
			return r.children, nil
		case !errors.Is(r.listErr, zk.ErrNoNode):
			return nil, r.listErr
		case !r.created:
			return nil, nil
		}
		// Created between the two calls: list again.
	}
	return nil, fmt.Errorf("%s keeps being created and deleted", shortPath(p))
}

// syncService does the pending work of one service: list its directory if
// asked (which re-arms the children watch), read the nodes that are new or
// changed (which arms their data watches), and apply the result, reporting
// every node that changed to the watchers.
func (m *mirror) syncService(dir dirRef) error {
	w, ok := m.take(dir)
	if !ok {
		return nil
	}
	ctx, cancel := m.deps.sessions.begin(context.Background())
	defer cancel()
	f, err := m.fetch(ctx, w)
	if err != nil {
		m.giveBack(w)
		return err
	}
	return m.apply(w, f)
}

// syncWork is the work a worker took for one service.
type syncWork struct {
	e     *mirroredService
	p     watchWork
	epoch uint64                   // the service's own-write count when taken
	known map[string]*mirroredNode // the nodes mirrored when taken, less those gone
}

// take takes the pending work of dir's entry; false if it has none.
func (m *mirror) take(dir dirRef) (syncWork, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.services[dir]
	if e == nil {
		return syncWork{}, false
	}
	w := syncWork{e: e, p: e.pending, epoch: e.epoch, known: make(map[string]*mirroredNode, len(e.nodes))}
	e.pending = watchWork{}
	for c, n := range e.nodes {
		if !w.p.has(c, needGone) {
			w.known[c] = n
		}
	}
	return w, true
}

// giveBack returns work that failed to its entry, to be done again.
func (m *mirror) giveBack(w syncWork) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.services[w.e.dir] == w.e {
		w.e.pending.merge(w.p)
	}
}

// fetched is what a worker read for a service.
type fetched struct {
	cfg      Config
	children []string        // the listing, if the work asked for one
	names    []string        // the nodes read
	got      []readResult    // their reads, by index of names
	fresh    []*mirroredNode // their new state, nil where unchanged or failed
}

// lists reports whether w asks for the directory to be listed.
func (w syncWork) lists() bool { return w.p.all || w.p.has("", needList) }

// fetch lists and reads what w needs, and decodes what changed. It runs
// without mirror.mu: only this worker changes w.e.nodes, so w.known is
// still what the mirror holds.
func (m *mirror) fetch(ctx context.Context, w syncWork) (fetched, error) {
	s, err := m.session(ctx)
	if err != nil {
		return fetched{}, err
	}
	f := fetched{cfg: s.cfg}
	l := m.layout(s.cfg)
	sid := s.ID()
	if w.lists() {
		if f.children, err = listWatched(ctx, s.conn, l.dirPath(w.e.dir)); err != nil {
			return fetched{}, fmt.Errorf("list %s: %w", shortPath(l.dirPath(w.e.dir)), err)
		}
		for _, c := range f.children {
			if w.p.all || w.known[c] == nil || w.p.has(c, needData) {
				f.names = append(f.names, c)
			}
		}
	} else {
		for c, n := range w.p.paths {
			if c != "" && n&needData != 0 {
				f.names = append(f.names, c)
			}
		}
	}
	reads := make([]readItem, len(f.names))
	for i, c := range f.names {
		reads[i] = readItem{path: l.refPath(nodeRef{w.e.dir, c}), need: needData}
	}
	if f.got, err = s.conn.read(ctx, reads, readOptions{watch: true}); err != nil {
		return fetched{}, fmt.Errorf("read %s: %w", shortPath(l.dirPath(w.e.dir)), err)
	}
	if s.ID() != sid {
		return fetched{}, errSessionReplaced
	}
	f.fresh = make([]*mirroredNode, len(f.names))
	for i, c := range f.names {
		z := f.got[i]
		if z.dataErr != nil {
			continue
		}
		sum := sumOf(z.data)
		if old := w.known[c]; old != nil && old.sum == sum {
			continue // unchanged
		}
		head, node, derr := w.e.decoder.decode(nodeRef{w.e.dir, c}, z.data)
		if derr != nil && !errors.Is(derr, errPublishedHere) {
			s.cfg.logger.Logf(LevelWarn, "zookeeper: skipping %s: %v", shortPath(reads[i].path), derr)
		}
		if node.Id == c {
			node.Id = c // one string for the node's id and its key
		}
		f.fresh[i] = &mirroredNode{sum: sum, head: head, node: node}
	}
	return f, nil
}

// apply brings w's entry in line with what was fetched and tells the
// watchers of the service which nodes changed. A transient failure to read
// a node leaves it pending and is returned, to retry.
func (m *mirror) apply(w syncWork, f fetched) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := w.e
	if m.services[e.dir] != e {
		return nil // evicted meanwhile
	}
	// changed maps each child whose registration changed to its node
	// before (nil: none), for the watchers.
	changed := map[string]*mirroredNode{}
	before := func(c string, old *mirroredNode) {
		if _, seen := changed[c]; !seen {
			if old != nil && !old.registration() {
				old = nil
			}
			changed[c] = old
		}
	}
	drop := func(c string) {
		if n, ok := e.nodes[c]; ok {
			delete(e.nodes, c)
			if n.registration() {
				before(c, n)
			}
		}
	}
	for c, n := range w.p.paths {
		if n&needGone != 0 {
			drop(c)
		}
	}
	if w.lists() {
		present := make(map[string]bool, len(f.children))
		for _, c := range f.children {
			present[c] = true
		}
		for c := range e.nodes {
			if !present[c] {
				drop(c)
			}
		}
	}
	var retry error
	for i, c := range f.names {
		z := f.got[i]
		switch {
		case errors.Is(z.dataErr, zk.ErrNoNode):
			drop(c)
		case isTransient(z.dataErr):
			e.pending.mark(c, needData)
			retry = z.dataErr
		case z.dataErr != nil:
			drop(c)
			f.cfg.logger.Logf(LevelWarn, "zookeeper: skipping %s: %v", shortPath(m.layout(f.cfg).refPath(nodeRef{e.dir, c})), z.dataErr)
		case f.fresh[i] != nil:
			old := e.nodes[c]
			e.nodes[c] = f.fresh[i]
			if f.fresh[i].registration() || (old != nil && old.registration()) {
				before(c, old)
			}
		}
	}
	if w.lists() && retry == nil && !e.synced && e.epoch == w.epoch {
		e.synced = true
		close(e.syncCh)
	}
	if len(changed) > 0 {
		e.cached = nil
		for wt := range m.watchers {
			if wt.follows(m.deps.index, e.dir) {
				wt.notify(m.deps.index, e.dir, changed)
			}
		}
	}
	return retry
}
