package zookeeper

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	util "go-micro.dev/v4/util/registry"

	"github.com/zkmicro/zookeeper/internal/workqueue"
)

// mirrorWorkers is the number of goroutines that keep mirrored services in
// sync; each service is synced by one of them at a time. A worker waits for
// ZooKeeper most of the time (a listing, then the reads of what changed),
// so a first listing of many services, or the resync after a new session,
// needs many of them to keep the session busy: with 8, a cold ListServices
// of 200 services took a quarter longer.
const mirrorWorkers = 32

// allKey is the mirror's work key for the list of services. It cannot
// collide with an escaped service name, which never holds a NUL.
const allKey = "\x00all"

// mirror is the registry's in-memory copy of the services it has looked up
// or is watching, kept current by ZooKeeper watches: a children watch per
// service directory, a data watch per node, and a children watch on the root
// while anything lists or watches all services. Every Watcher of the
// registry is fed from it, so N watchers cost ZooKeeper one set of watches.
//
// A watch event marks work for its service (re-list, re-read one node,
// forget one node); a worker then reads only what changed. After a new
// session replaced an expired one, every mirrored service is re-listed and
// re-read, and the difference is reported to watchers.
//
// Consistency: what the mirror returns is what a ZooKeeper follower would:
// it trails the leader by the time a watch event takes to arrive and never
// goes backwards.
type mirror struct {
	r     *zkRegistry
	queue *workqueue.Queue

	mu        sync.Mutex    // guards everything below and every mirroredService
	connected bool          // the session is established
	gate      chan struct{} // while set, workers wait: a new session's restore comes first
	services  map[string]*mirroredService
	all       *allServices // nil unless services are being listed or watched
	watchers  map[*zkWatcher]struct{}
}

// mirroredService is the mirrored state of one service directory.
type mirroredService struct {
	dir      string                   // escaped service name
	nodes    map[string]*mirroredNode // by escaped node id
	synced   bool                     // listed and read in the current session, after our last write
	syncCh   chan struct{}            // closed when synced becomes true
	epoch    uint64                   // count of this registry's own writes to the service
	pending  pendingWork
	watchers int  // Watchers of this service
	byAll    bool // a directory in the last listing of the root
	lastUsed time.Time
	cached   []*registry.Service // grouped by version; nil when stale

	// decoder is used only by the worker syncing the service, outside
	// mirror.mu: the queue never hands one key to two workers at once.
	decoder sharedDecoder
}

// mirroredNode is one node znode: the SHA-256 of its data, which tells
// whether a later read changed it (keeping the data itself would double the
// mirror's memory), and the data decoded, nil when it is not a
// registration. It is immutable and replaced on every change; nodes of one
// service version share their service's Metadata and Endpoints (see
// sharedDecoder).
type mirroredNode struct {
	sum [sha256.Size]byte
	svc *registry.Service
}

// pendingWork is what watch events asked a service's worker to do.
type pendingWork struct {
	list   bool            // list the directory again
	reread bool            // read every node again (new session)
	nodes  map[string]bool // nodes whose data changed
	gone   map[string]bool // nodes deleted
}

func (p *pendingWork) merge(q pendingWork) {
	p.list = p.list || q.list
	p.reread = p.reread || q.reread
	for c := range q.nodes {
		p.mark(&p.nodes, c)
	}
	for c := range q.gone {
		p.mark(&p.gone, c)
	}
}

func (p *pendingWork) mark(set *map[string]bool, child string) {
	if *set == nil {
		*set = map[string]bool{}
	}
	(*set)[child] = true
}

// allServices is the mirrored list of service directories under the root.
type allServices struct {
	listed   bool
	dirs     []string      // the last listing, in the order its services were queued
	epoch    uint64        // count of own writes the listing may not show yet
	syncCh   chan struct{} // closed when listed becomes true
	pending  bool
	watchers int // Watchers of all services
	lastUsed time.Time
}

func newMirror(r *zkRegistry) *mirror {
	return &mirror{
		r:        r,
		queue:    workqueue.New(50*time.Millisecond, 2*time.Second),
		services: map[string]*mirroredService{},
		watchers: map[*zkWatcher]struct{}{},
	}
}

// serviceLocked returns the entry for dir, creating it (and queueing its
// first sync) if needed.
func (m *mirror) serviceLocked(dir string) *mirroredService {
	e := m.services[dir]
	if e == nil {
		e = &mirroredService{
			dir:      dir,
			nodes:    map[string]*mirroredNode{},
			syncCh:   make(chan struct{}),
			pending:  pendingWork{list: true},
			lastUsed: time.Now(),
		}
		m.services[dir] = e
		m.queue.Add(dir)
	}
	return e
}

func (m *mirror) allLocked() *allServices {
	if m.all == nil {
		m.all = &allServices{syncCh: make(chan struct{}), pending: true, lastUsed: time.Now()}
		m.queue.Add(allKey)
	}
	return m.all
}

// setConnected records whether the session is established.
func (m *mirror) setConnected(ok bool) {
	m.mu.Lock()
	m.connected = ok
	m.mu.Unlock()
}

// hold is called when a new session replaced the previous one. Its watches
// are gone, so everything must be listed and read again; but first the
// registry's own nodes are restored (see release), so that watchers in this
// process do not see them vanish and come back. Until then, reads wait.
func (m *mirror) hold() chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.services {
		if e.synced {
			e.synced = false
			e.syncCh = make(chan struct{})
		}
	}
	if a := m.all; a != nil && a.listed {
		a.listed = false
		a.syncCh = make(chan struct{})
	}
	g := make(chan struct{})
	m.gate = g
	return g
}

// release ends hold g and re-lists and re-reads everything mirrored.
func (m *mirror) release(g chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	close(g)
	if m.gate == g {
		m.gate = nil
	}
	for dir, e := range m.services {
		e.pending.list, e.pending.reread = true, true
		m.queue.Add(dir)
	}
	if a := m.all; a != nil {
		a.pending = true
		m.queue.Add(allKey)
	}
}

// waitGate blocks a worker while a hold is in force.
func (m *mirror) waitGate() bool {
	for {
		m.mu.Lock()
		g := m.gate
		m.mu.Unlock()
		if g == nil {
			return true
		}
		select {
		case <-g:
		case <-m.r.ctx.Done():
			return false
		}
	}
}

// conn returns the session a worker syncs with. A worker may have passed
// waitGate before a new session replaced an expired one and then waited
// here for it: while the hold is in force it must not read the new session,
// which does not show the registry's own nodes yet (watchers would see them
// vanish and come back). It gets a transient error and retries once the
// hold is released, which queues a full re-sync anyway.
func (m *mirror) conn(ctx context.Context) (*session, error) {
	s, err := m.r.conn(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	held := m.gate != nil
	m.mu.Unlock()
	if held {
		return nil, errSessionClosed
	}
	return s, nil
}

// ownWrite is called after this registry wrote or deleted the node
// dir/child. ZooKeeper lets a session read its own writes; the mirror keeps
// that promise: reads of the service wait until it was listed again after
// the write.
func (m *mirror) ownWrite(dir, child string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.services[dir]
	if e != nil {
		e.epoch++
		e.pending.list = true
		e.pending.mark(&e.pending.nodes, child)
		if e.synced {
			e.synced = false
			e.syncCh = make(chan struct{})
		}
		m.queue.Add(dir)
	}
	if a := m.all; a != nil && (e == nil || !e.byAll) {
		a.epoch++
		a.pending = true
		if a.listed {
			a.listed = false
			a.syncCh = make(chan struct{})
		}
		m.queue.Add(allKey)
	}
}

// onEvent turns a watch event into work for the service it concerns.
func (m *mirror) onEvent(e zk.Event, root string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Path == root {
		if m.all != nil {
			m.all.pending = true
			m.queue.Add(allKey)
		}
		return
	}
	rel, ok := cutRoot(e.Path, root)
	if !ok {
		return
	}
	dir, child, isNode := cutSegment(rel)
	svc := m.services[dir]
	if svc == nil {
		return
	}
	switch {
	case !isNode:
		svc.pending.list = true
	case e.Type == zk.EventNodeDeleted:
		svc.pending.mark(&svc.pending.gone, child)
	case e.Type == zk.EventNodeDataChanged:
		svc.pending.mark(&svc.pending.nodes, child)
	default:
		svc.pending.list = true
	}
	m.queue.Add(dir)
}

func cutRoot(p, root string) (string, bool) {
	if len(p) <= len(root)+1 || p[:len(root)] != root || p[len(root)] != '/' {
		return "", false
	}
	return p[len(root)+1:], true
}

// cutSegment splits "dir" or "dir/child".
func cutSegment(rel string) (dir, child string, isNode bool) {
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' {
			return rel[:i], rel[i+1:], true
		}
	}
	return rel, "", false
}

// run is one mirror worker.
func (m *mirror) run() {
	defer m.r.wg.Done()
	for {
		key, ok := m.queue.Get()
		if !ok {
			return
		}
		if !m.waitGate() {
			m.queue.Done(key)
			return
		}
		var err error
		if key == allKey {
			err = m.syncAll()
		} else {
			err = m.syncService(key)
		}
		switch {
		case err == nil || errors.Is(err, errClosed) || m.r.ctx.Err() != nil:
			m.queue.Forget(key)
		case isTransient(err):
			m.queue.Retry(key)
		default:
			d := m.queue.Retry(key)
			m.r.config().logger.Logf(logger.WarnLevel, "zookeeper: mirroring %q (retry in %v): %v", key, d, err)
		}
		m.queue.Done(key)
	}
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

	ctx, cfg, cancel := m.r.opContext(context.Background())
	defer cancel()
	children, err := m.listRoot(ctx, cfg)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.all != a {
		return nil
	}
	if err != nil {
		a.pending = true
		return err
	}
	present := make(map[string]bool, len(children))
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

func (m *mirror) listRoot(ctx context.Context, cfg config) ([]string, error) {
	s, err := m.conn(ctx)
	if err != nil {
		return nil, err
	}
	sid := s.sessionID()
	children, err := listChildren(ctx, s, cfg.root)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: list %s: %w", cfg.root, err)
	}
	if s.sessionID() != sid {
		return nil, errSessionReplaced
	}
	return children, nil
}

// errSessionReplaced reports reads that a new session may have answered: a
// call issued just before a session expired waits in zk while it
// reconnects and is then sent in the new session, which does not show the
// registry's own nodes until they are restored (see conn). The work is
// retried; the new session's full resync follows anyway.
var errSessionReplaced = fmt.Errorf("zookeeper: session replaced during a read: %w", errSessionClosed)

// syncService does the pending work of one service: list its directory if
// asked (which re-arms the children watch), read the nodes that are new or
// changed (which arms their data watches), and apply the result, reporting
// every node that changed to the watchers.
func (m *mirror) syncService(dir string) error {
	m.mu.Lock()
	e := m.services[dir]
	if e == nil {
		m.mu.Unlock()
		return nil
	}
	p := e.pending
	e.pending = pendingWork{}
	epoch := e.epoch
	known := make(map[string]*mirroredNode, len(e.nodes))
	for c, n := range e.nodes {
		if !p.gone[c] {
			known[c] = n
		}
	}
	m.mu.Unlock()

	failed := func(err error) error {
		m.mu.Lock()
		if m.services[dir] == e {
			e.pending.merge(p)
		}
		m.mu.Unlock()
		return err
	}

	ctx, cfg, cancel := m.r.opContext(context.Background())
	defer cancel()
	s, err := m.conn(ctx)
	if err != nil {
		return failed(err)
	}
	sid := s.sessionID()
	dirPath := cfg.root + "/" + dir
	var children []string
	if p.list {
		if children, err = listChildren(ctx, s, dirPath); err != nil {
			return failed(fmt.Errorf("zookeeper: list %s: %w", dirPath, err))
		}
	}
	var names []string
	if p.list {
		for _, c := range children {
			if p.reread || known[c] == nil || p.nodes[c] {
				names = append(names, c)
			}
		}
	} else {
		for c := range p.nodes {
			names = append(names, c)
		}
	}
	paths := make([]string, len(names))
	for i, c := range names {
		paths[i] = dirPath + "/" + c
	}
	got, err := s.readWatched(ctx, paths)
	if err != nil {
		return failed(fmt.Errorf("zookeeper: read %s: %w", dirPath, err))
	}
	if s.sessionID() != sid {
		return failed(errSessionReplaced)
	}
	// Decode what changed before taking the lock. Only this worker changes
	// e.nodes, so known is still what the mirror holds.
	fresh := make([]*mirroredNode, len(names))
	for i, c := range names {
		z := got[i]
		if z.err != nil {
			continue
		}
		sum := sha256.Sum256(z.data)
		if old := known[c]; old != nil && old.sum == sum {
			continue // unchanged
		}
		svc, derr := e.decoder.decode(z.data)
		if derr != nil {
			cfg.logger.Logf(logger.WarnLevel, "zookeeper: skipping %s/%s: %v", dirPath, c, derr)
		}
		fresh[i] = &mirroredNode{sum: sum, svc: svc}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.services[dir] != e {
		return nil // evicted meanwhile
	}
	changed := map[string]bool{}
	drop := func(c string) {
		if n, ok := e.nodes[c]; ok {
			delete(e.nodes, c)
			if n.svc != nil {
				changed[c] = true
			}
		}
	}
	for c := range p.gone {
		drop(c)
	}
	if p.list {
		present := make(map[string]bool, len(children))
		for _, c := range children {
			present[c] = true
		}
		for c := range e.nodes {
			if !present[c] {
				drop(c)
			}
		}
	}
	var retry error
	for i, c := range names {
		z := got[i]
		switch {
		case errors.Is(z.err, zk.ErrNoNode):
			drop(c)
		case isTransient(z.err):
			e.pending.mark(&e.pending.nodes, c)
			retry = z.err
		case z.err != nil:
			drop(c)
			cfg.logger.Logf(logger.WarnLevel, "zookeeper: skipping %s/%s: %v", dirPath, c, z.err)
		case fresh[i] != nil:
			old := e.nodes[c]
			e.nodes[c] = fresh[i]
			if fresh[i].svc != nil || (old != nil && old.svc != nil) {
				changed[c] = true
			}
		}
	}
	if p.list && retry == nil && !e.synced && e.epoch == epoch {
		e.synced = true
		close(e.syncCh)
	}
	if len(changed) > 0 {
		e.cached = nil
		for w := range m.watchers {
			if w.all || w.dir == dir {
				w.notify(dir, changed)
			}
		}
	}
	return retry
}

// current returns the node as the mirror has it now, or nil when it is gone
// or is not a registration. The node is immutable: a change replaces it.
func (m *mirror) current(dir, child string) *mirroredNode {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.services[dir]; e != nil {
		if n := e.nodes[child]; n != nil && n.svc != nil {
			return n
		}
	}
	return nil
}

// groupedLocked returns the service's nodes grouped by version, in a value
// shared between calls: copy it before handing it out.
func (e *mirroredService) groupedLocked() []*registry.Service {
	if e.cached == nil {
		children := make([]string, 0, len(e.nodes))
		for c, n := range e.nodes {
			if n.svc != nil {
				children = append(children, c)
			}
		}
		sort.Strings(children)
		svcs := make([]*registry.Service, 0, len(children))
		for _, c := range children {
			svcs = append(svcs, e.nodes[c].svc)
		}
		e.cached = groupByVersion(svcs)
	}
	return e.cached
}

// groupByVersion merges single-node services into one service per name and
// version, in order of first appearance; service-level fields come from the
// first node of each group.
func groupByVersion(nodes []*registry.Service) []*registry.Service {
	type nameVersion struct{ name, version string }
	groups := map[nameVersion]*registry.Service{}
	var out []*registry.Service
	for _, s := range nodes {
		k := nameVersion{s.Name, s.Version}
		g := groups[k]
		if g == nil {
			g = &registry.Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Endpoints: s.Endpoints}
			groups[k] = g
			out = append(out, g)
		}
		g.Nodes = append(g.Nodes, s.Nodes...)
	}
	return out
}

// getService answers GetService from the mirror, waiting for the service's
// first sync if needed. ok is false when the mirror is in sync but the
// session is not connected: the caller must read ZooKeeper.
func (m *mirror) getService(ctx context.Context, name string) (svcs []*registry.Service, ok bool, err error) {
	dir := escapeSegment(name)
	for {
		m.mu.Lock()
		e := m.serviceLocked(dir)
		e.lastUsed = time.Now()
		if e.synced {
			defer m.mu.Unlock()
			if !m.connected {
				return nil, false, nil
			}
			return util.Copy(e.groupedLocked()), true, nil
		}
		ch := e.syncCh
		m.mu.Unlock()
		if err := m.await(ctx, ch); err != nil {
			return nil, true, err
		}
	}
}

// listServices answers ListServices from the mirror, waiting for the list
// of services and every service in it to be in sync.
func (m *mirror) listServices(ctx context.Context) (svcs []*registry.Service, ok bool, err error) {
	err = m.awaitAll(ctx, func() {
		if !m.connected {
			return
		}
		ok = true
		dirs := make([]string, 0, len(m.services))
		for dir, e := range m.services {
			if e.byAll {
				dirs = append(dirs, dir)
			}
		}
		sort.Strings(dirs)
		now := time.Now()
		for _, dir := range dirs {
			e := m.services[dir]
			e.lastUsed = now
			svcs = append(svcs, e.groupedLocked()...)
		}
		svcs = util.Copy(svcs)
		sortServices(svcs)
	})
	return svcs, ok, err
}

// awaitAll waits until the list of services and every listed service are in
// sync, then calls fn with m.mu held.
func (m *mirror) awaitAll(ctx context.Context, fn func()) error {
	for {
		m.mu.Lock()
		a := m.allLocked()
		a.lastUsed = time.Now()
		wait := a.syncCh
		if a.listed {
			wait = nil
			// Wait for the service listed last that is not in sync: the
			// queue hands services to workers in the order of the listing,
			// so when it is in sync most others are too. One wake-up per
			// service would cost more than the reads of a cold listing.
			for i := len(a.dirs) - 1; i >= 0 && wait == nil; i-- {
				if e := m.services[a.dirs[i]]; e != nil && e.byAll && !e.synced {
					wait = e.syncCh
				}
			}
			if wait == nil {
				for _, e := range m.services {
					if e.byAll && !e.synced {
						wait = e.syncCh
						break
					}
				}
			}
		}
		if wait == nil {
			fn()
			m.mu.Unlock()
			return nil
		}
		m.mu.Unlock()
		if err := m.await(ctx, wait); err != nil {
			return err
		}
	}
}

func (m *mirror) await(ctx context.Context, ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-m.r.ctx.Done():
		return errClosed
	case <-ctx.Done():
		return fmt.Errorf("zookeeper: not in sync with ZooKeeper yet: %w", ctx.Err())
	}
}

// subscribe adds w once what it watches is in sync, and sets its starting
// view to the nodes there, so that it reports changes after this point.
func (m *mirror) subscribe(ctx context.Context, w *zkWatcher) error {
	snapshot := func(e *mirroredService) {
		for c, n := range e.nodes {
			if n.svc != nil {
				w.view[nodeRef{e.dir, c}] = n
			}
		}
	}
	if w.all {
		m.mu.Lock()
		m.allLocked().watchers++
		m.mu.Unlock()
		err := m.awaitAll(ctx, func() {
			for _, e := range m.services {
				snapshot(e)
			}
			m.watchers[w] = struct{}{}
		})
		if err != nil {
			m.mu.Lock()
			m.all.watchers--
			m.mu.Unlock()
		}
		return err
	}
	m.mu.Lock()
	e := m.serviceLocked(w.dir)
	e.watchers++
	for !e.synced {
		ch := e.syncCh
		m.mu.Unlock()
		if err := m.await(ctx, ch); err != nil {
			m.mu.Lock()
			e.watchers--
			m.mu.Unlock()
			return err
		}
		m.mu.Lock()
	}
	snapshot(e)
	m.watchers[w] = struct{}{}
	m.mu.Unlock()
	return nil
}

// unsubscribe removes w.
func (m *mirror) unsubscribe(w *zkWatcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.watchers[w]; !ok {
		return
	}
	delete(m.watchers, w)
	if w.all {
		if m.all != nil {
			m.all.watchers--
			m.all.lastUsed = time.Now()
		}
	} else if e := m.services[w.dir]; e != nil {
		e.watchers--
		e.lastUsed = time.Now()
	}
}

// stopWatchers stops every watcher; the registry is closing.
func (m *mirror) stopWatchers() {
	m.mu.Lock()
	ws := make([]*zkWatcher, 0, len(m.watchers))
	for w := range m.watchers {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	for _, w := range ws {
		w.Stop()
	}
}

// evictIdle forgets services that no watcher follows and nobody looked up
// for the configured idle time. Their ZooKeeper watches cannot be removed
// (zk has no call for it); each fires at most once more and is ignored.
func (m *mirror) evictIdle(now time.Time) {
	idle := m.r.config().mirrorIdle
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.all; a != nil && a.watchers == 0 && now.Sub(a.lastUsed) > idle {
		m.all = nil
	}
	for dir, e := range m.services {
		pinned := e.watchers > 0 || (e.byAll && m.all != nil)
		if !pinned && now.Sub(e.lastUsed) > idle {
			delete(m.services, dir)
		}
	}
}

// size returns the number of mirrored services and nodes.
func (m *mirror) size() (services, nodes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.services {
		nodes += len(e.nodes)
	}
	return len(m.services), nodes
}

// active reports whether anything is mirrored, so a new connection is
// needed right away.
func (m *mirror) active() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.services) > 0 || m.all != nil
}
