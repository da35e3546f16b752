package engine

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkmicro/zookeeper/internal/workqueue"
)

// maxMirrorWorkers bounds the goroutines that keep mirrored services in
// sync; each service is synced by one of them at a time. A worker waits
// for ZooKeeper most of the time (a listing, then the reads of what
// changed), so a first listing of many services, or the resync after a new
// session, needs many of them to keep the session busy: with 8, a cold
// ListServices of 200 services took a quarter longer. Workers start with
// work and end when there is none.
const maxMirrorWorkers = 32

// allKey is the mirror's work key for the list of services. It cannot
// collide with an escaped service name, which never holds a NUL.
const allKey = "\x00all"

// mirror is the registry's in-memory copy of the services it has looked up
// or is watching, kept current by ZooKeeper watches: a children watch per
// service directory, a data watch per node, and a children watch on the
// root while anything lists or watches all services. Every Watcher of the
// registry is fed from it, so N watchers cost ZooKeeper one set of
// watches.
//
// A watch event marks work for its service (re-list, re-read one node,
// forget one node); a worker then reads only what changed (mirror_sync.go).
// After a new session replaced an expired one, every mirrored service is
// re-listed and re-read, and the difference is reported to watchers.
//
// Consistency: what the mirror returns is what a ZooKeeper follower would:
// it trails the leader by the time a watch event takes to arrive and never
// goes backwards.
//
// Lock order: mirror.mu, then Watcher.mu (notify is called with mirror.mu
// held); a Watcher never calls the mirror with its own lock held.
type mirror struct {
	queue *workqueue.Queue
	deps  mirrorDeps
	pool  *mapPool // interns the metadata maps of what it decodes

	mu        sync.Mutex // guards everything below and every mirroredService
	connected bool       // the session is established
	services  map[dirRef]*mirroredService
	all       *allServices // nil unless services are being listed or watched
	watchers  map[*Watcher]struct{}
}

// mirrorDeps are the few things the mirror uses of its registry.
type mirrorDeps struct {
	format   *format          // the layout it mirrors
	index    int              // its place among a Watcher's sources
	sessions registrySessions // the registry's client: sessions, contexts, logger
	gate     sessionGate      // holds the workers while a restore is in progress (restore.go)
}

// mirroredService is the mirrored state of one service directory.
type mirroredService struct {
	dir      dirRef
	nodes    map[string]*mirroredNode // by escaped node id
	synced   bool                     // listed and read in the current session, after our last write
	syncCh   chan struct{}            // closed when synced becomes true, or the entry is evicted
	epoch    uint64                   // count of the registry's own writes to the service
	pending  watchWork                // "": list the directory; a child: read it (needData) or forget it (needGone); all: read everything
	watchers int                      // Watchers of this service
	waiters  int                      // lookups waiting for its sync: in use, not idle
	byAll    bool                     // a directory in the last listing of the root
	lastUsed time.Time
	cached   []*Service // grouped by version; nil when stale

	// decoder is used only by the worker syncing the service, outside
	// mirror.mu: the queue never hands one key to two workers at once.
	decoder nodeDecoder
}

// mirroredNode is one node znode: a 128-bit sum of its data (dataSum),
// which tells whether a later read changed it (keeping the data itself
// would double the mirror's memory), and the data decoded: its service-level fields
// (head: name, version, metadata, endpoints; shared by the nodes of one
// version, see sharedDecoder), nil when the data is not a registration,
// and its node, held here rather than in a one-node Service so that a
// mirrored node costs one allocation (lookups point into it). It is
// immutable and replaced on every change.
type mirroredNode struct {
	sum  dataSum
	head *Service // without nodes
	node Node
}

// dataSum identifies a node's data: the first 128 bits of its SHA-256,
// which no two versions of a node's data share by chance.
type dataSum [16]byte

// sumOf returns the dataSum of data.
func sumOf(data []byte) dataSum {
	full := sha256.Sum256(data)
	return dataSum(full[:16])
}

// registration reports whether the node's data is a registration.
func (n *mirroredNode) registration() bool { return n.head != nil }

// service returns the node as a one-node Service, new but for its shared
// fields, as watchers report it.
func (n *mirroredNode) service() *Service {
	h := n.head
	return &Service{Name: h.Name, Version: h.Version, Metadata: h.Metadata, Endpoints: h.Endpoints, Nodes: []*Node{&n.node}}
}

// allServices is the mirrored list of service directories under the root.
type allServices struct {
	listed   bool
	dirs     []dirRef      // the last listing, in the order its services were queued
	epoch    uint64        // count of own writes the listing may not show yet
	syncCh   chan struct{} // closed when listed becomes true, or it is evicted
	pending  bool
	watchers int // Watchers of all services
	waiters  int // lookups waiting for the listing
	lastUsed time.Time
}

func newMirror(deps mirrorDeps) *mirror {
	return &mirror{
		queue:    workqueue.New(50*time.Millisecond, 2*time.Second),
		deps:     deps,
		pool:     newMapPool(),
		services: map[dirRef]*mirroredService{},
		watchers: map[*Watcher]struct{}{},
	}
}

// start hands the mirror's work to workers that spawn starts.
func (m *mirror) start(spawn func(func())) {
	m.queue.Process(maxMirrorWorkers, m.handle, spawn)
}

// serviceLocked returns the entry for dir, creating it (and queueing its
// first sync) if needed.
func (m *mirror) serviceLocked(dir dirRef) *mirroredService {
	e := m.services[dir]
	if e == nil {
		e = &mirroredService{
			dir:      dir,
			nodes:    map[string]*mirroredNode{},
			syncCh:   make(chan struct{}),
			pending:  watchWork{paths: map[string]need{"": needList}},
			decoder:  m.deps.format.decoder(m.pool),
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

// invalidate is called when a new session replaced the previous one: its
// watches are gone, so everything must be listed and read again. Until
// then (see restore.go), lookups wait as they do on first use.
func (m *mirror) invalidate() {
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
}

// resyncAll re-lists and re-reads everything mirrored.
func (m *mirror) resyncAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for dir, e := range m.services {
		e.pending.all = true
		m.queue.Add(dir)
	}
	if a := m.all; a != nil {
		a.pending = true
		m.queue.Add(allKey)
	}
}

// ownWrite is called after the registry wrote or deleted node r. ZooKeeper
// lets a session read its own writes; the mirror keeps that promise: reads
// of the service wait until it was listed again after the write.
func (m *mirror) ownWrite(r nodeRef) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.services[r.dir]
	if e != nil {
		e.epoch++
		e.pending.mark("", needList)
		e.pending.mark(r.child, needData)
		if e.synced {
			e.synced = false
			e.syncCh = make(chan struct{})
		}
		m.queue.Add(r.dir)
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
func (m *mirror) onEvent(cfg Config, e zk.Event) {
	l, ok := m.deps.format.layout(cfg)
	if !ok {
		return
	}
	kind, ref := l.parse(e.Path)
	m.mu.Lock()
	defer m.mu.Unlock()
	if kind == kindRoot {
		if m.all != nil {
			m.all.pending = true
			m.queue.Add(allKey)
		}
		return
	}
	if kind == kindOutside {
		return
	}
	svc := m.services[ref.dir]
	if svc == nil {
		return
	}
	switch {
	case kind == kindDir:
		svc.pending.mark("", needList)
	case e.Type == zk.EventNodeDeleted:
		svc.pending.mark(ref.child, needGone)
	case e.Type == zk.EventNodeDataChanged:
		svc.pending.mark(ref.child, needData)
	default:
		svc.pending.mark("", needList)
	}
	m.queue.Add(ref.dir)
}

// current returns node r as the mirror has it now, or nil when it is gone
// or is not a registration. The node is immutable: a change replaces it.
func (m *mirror) current(r nodeRef) *mirroredNode {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.services[r.dir]; e != nil {
		if n := e.nodes[r.child]; n != nil && n.registration() {
			return n
		}
	}
	return nil
}

// groupedLocked returns the service's nodes grouped by version, in a value
// shared between calls and read-only.
func (e *mirroredService) groupedLocked() []*Service {
	if e.cached == nil {
		children := make([]string, 0, len(e.nodes))
		for c, n := range e.nodes {
			if n.registration() {
				children = append(children, c)
			}
		}
		sort.Strings(children)
		items := make([]headNode, len(children))
		for i, c := range children {
			n := e.nodes[c]
			items[i] = headNode{n.head, &n.node}
		}
		e.cached = groupNodes(items)
	}
	return e.cached
}

// headNode is a node and its service-level fields.
type headNode struct {
	head *Service
	node *Node
}

// groupNodes groups nodes into one service per name and version, in order
// of first appearance; service-level fields come from the first node of
// each group. The services returned are new; their fields and nodes are
// shared.
func groupNodes(items []headNode) []*Service {
	type nameVersion struct{ name, version string }
	groups := map[nameVersion]*Service{}
	var out []*Service
	for _, it := range items {
		h := it.head
		k := nameVersion{h.Name, h.Version}
		g := groups[k]
		if g == nil {
			g = &Service{Name: h.Name, Version: h.Version, Metadata: h.Metadata, Endpoints: h.Endpoints}
			groups[k] = g
			out = append(out, g)
		}
		g.Nodes = append(g.Nodes, it.node)
	}
	return out
}

// mergeServices returns the services of a and b (each grouped by version,
// as groupNodes returns them), one per name and version: a service of
// both gets the nodes of both. It returns a or b itself when the other is
// empty; merged services are new, their fields shared.
func mergeServices(a, b []*Service) []*Service {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	type nameVersion struct{ name, version string }
	at := make(map[nameVersion]int, len(a))
	for i, s := range a {
		at[nameVersion{s.Name, s.Version}] = i
	}
	out := slices.Clone(a)
	for _, s := range b {
		i, ok := at[nameVersion{s.Name, s.Version}]
		if !ok {
			out = append(out, s)
			continue
		}
		m := *out[i]
		m.Nodes = append(slices.Clip(m.Nodes), s.Nodes...)
		out[i] = &m
	}
	return out
}

// sortServices orders services by name, then version.
func sortServices(svcs []*Service) {
	sort.SliceStable(svcs, func(i, j int) bool {
		if svcs[i].Name != svcs[j].Name {
			return svcs[i].Name < svcs[j].Name
		}
		return svcs[i].Version < svcs[j].Version
	})
}

// getService answers GetService from the mirror, waiting for the service's
// first sync if needed. ok is false when the mirror is in sync but the
// session is not connected: the caller must read ZooKeeper.
func (m *mirror) getService(ctx context.Context, name string) (svcs []*Service, ok bool, err error) {
	dir, holds := m.deps.format.dir(name)
	if !holds {
		return nil, true, nil // no such service in this format
	}
	for {
		m.mu.Lock()
		e := m.serviceLocked(dir)
		e.lastUsed = time.Now()
		if e.synced {
			defer m.mu.Unlock()
			if !m.connected {
				return nil, false, nil
			}
			return e.groupedLocked(), true, nil
		}
		ch := e.syncCh
		e.waiters++
		m.mu.Unlock()
		err := m.await(ctx, ch)
		m.mu.Lock()
		e.waiters--
		e.lastUsed = time.Now()
		m.mu.Unlock()
		if err != nil {
			return nil, true, err
		}
	}
}

// listServices answers ListServices from the mirror, waiting for the list
// of services and every service in it to be in sync.
func (m *mirror) listServices(ctx context.Context) (svcs []*Service, ok bool, err error) {
	err = m.awaitAll(ctx, func() {
		if !m.connected {
			return
		}
		ok = true
		dirs := make([]dirRef, 0, len(m.services))
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
		sortServices(svcs)
	})
	return svcs, ok, err
}

// awaitAll waits until the list of services and every listed service are
// in sync, then calls fn with m.mu held.
func (m *mirror) awaitAll(ctx context.Context, fn func()) error {
	for {
		m.mu.Lock()
		a := m.allLocked()
		a.lastUsed = time.Now()
		wait := a.syncCh
		if a.listed {
			wait = m.unsyncedLocked(a)
		}
		if wait == nil {
			fn()
			m.mu.Unlock()
			return nil
		}
		a.waiters++
		m.mu.Unlock()
		err := m.await(ctx, wait)
		m.mu.Lock()
		a.waiters--
		a.lastUsed = time.Now()
		m.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// unsyncedLocked returns the sync channel of a listed service not in sync,
// nil if all are. It picks the service listed last: the queue hands
// services to workers in the order of the listing, so when it is in sync
// most others are too (one wake-up per service would cost more than the
// reads of a cold listing).
func (m *mirror) unsyncedLocked(a *allServices) chan struct{} {
	for i := len(a.dirs) - 1; i >= 0; i-- {
		if e := m.services[a.dirs[i]]; e != nil && e.byAll && !e.synced {
			return e.syncCh
		}
	}
	for _, e := range m.services {
		if e.byAll && !e.synced {
			return e.syncCh
		}
	}
	return nil
}

func (m *mirror) await(ctx context.Context, ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-m.deps.sessions.done():
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("not in sync with ZooKeeper yet: %w", ctx.Err())
	}
}

// subscribe adds w once what it watches is in sync, and sets its starting
// view to the nodes there, so that it reports changes after this point.
func (m *mirror) subscribe(ctx context.Context, w *Watcher) error {
	// A watcher starts from the mirror's nodes as they are: it reports
	// what changes after this (see Watcher), or, from empty, every node
	// there first.
	snapshot := func(e *mirroredService) {
		if !w.fromEmpty {
			return
		}
		for c, n := range e.nodes {
			if n.registration() {
				w.startFrom(m.deps.index, nodeRef{e.dir, c})
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
			if m.all != nil {
				m.all.watchers--
			}
			m.mu.Unlock()
		}
		return err
	}
	dir := w.dirs[m.deps.index]
	if dir == "" {
		return nil // this format cannot hold the service
	}
	m.mu.Lock()
	e := m.serviceLocked(dir)
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
func (m *mirror) unsubscribe(w *Watcher) {
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
	} else if e := m.services[w.dirs[m.deps.index]]; e != nil {
		e.watchers--
		e.lastUsed = time.Now()
	}
}

// stopWatchers stops every watcher; the registry is closing.
func (m *mirror) stopWatchers() {
	m.mu.Lock()
	ws := make([]*Watcher, 0, len(m.watchers))
	for w := range m.watchers {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	for _, w := range ws {
		w.Stop()
	}
}

// evictIdle forgets services that no watcher follows, no lookup waits
// for, and nobody looked up for idle. Their ZooKeeper watches cannot be
// removed (zk has no call for it); each fires at most once more and is
// ignored. Should a lookup still wait on an evicted entry, it is released
// and looks the service up afresh.
func (m *mirror) evictIdle(now time.Time, idle time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.all; a != nil && a.watchers == 0 && a.waiters == 0 && now.Sub(a.lastUsed) > idle {
		m.all = nil
		if !a.listed {
			close(a.syncCh)
		}
	}
	for dir, e := range m.services {
		pinned := e.watchers > 0 || e.waiters > 0 || (e.byAll && m.all != nil)
		if !pinned && now.Sub(e.lastUsed) > idle {
			delete(m.services, dir)
			if !e.synced {
				close(e.syncCh)
			}
		}
	}
}

// runEvictor evicts idle services every quarter of the idle time (but not
// more often than every 10 ms, nor less than every minute) until the
// registry closes.
func (m *mirror) runEvictor(idle func() time.Duration) {
	t := time.NewTicker(min(max(idle()/4, 10*time.Millisecond), time.Minute))
	defer t.Stop()
	for {
		select {
		case <-m.deps.sessions.done():
			return
		case now := <-t.C:
			m.evictIdle(now, idle())
		}
	}
}

// size returns the number of mirrored services and nodes, and of
// watchers.
func (m *mirror) size() (services, nodes, watchers int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.services {
		nodes += len(e.nodes)
	}
	return len(m.services), nodes, len(m.watchers)
}

// active reports whether anything is mirrored, so a new connection is
// needed right away.
func (m *mirror) active() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.services) > 0 || m.all != nil
}
