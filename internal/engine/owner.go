package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkmicro/zookeeper/internal/workqueue"
)

// maxWriteAttempts bounds the create/compare/replace loop for one node when
// other clients keep changing it underneath.
const maxWriteAttempts = 8

// maxOwnerWorkers bounds the goroutines restoring and verifying owned
// nodes; after a session expiry they re-create many of them concurrently.
// Workers start with work and end when there is none.
const maxOwnerWorkers = 16

// pastSessions is how many of its own earlier sessions the owner
// remembers: a node one of them still holds (its close or expiry not yet
// processed) is a predecessor's, never a contender's.
const pastSessions = 8

// owner keeps the nodes a registry registered alive in ZooKeeper: it
// writes them, watches them, re-creates them in every new session, and
// restores them when someone deletes or changes them. A node taken over by
// another live session (another registration with the same service and
// node id) is left to it: see write.
type owner struct {
	queue *workqueue.Queue // keys of nodes to verify, restore or delete
	deps  ownerDeps

	mu          sync.Mutex // guards the fields below and those of every ownedNode
	nodes       map[string]*ownedNode
	restoring   map[string]bool // nodes to re-create in the current session
	restored    chan struct{}   // closed when restoring is empty
	past        []int64         // this registry's earlier sessions, newest last
	self        []zk.ACL        // the registry's identities as the server resolved them (dirguard.go)
	selfSession int64           // the session self was learned in
}

// ownerDeps are the few things the owner uses of its registry.
type ownerDeps struct {
	format   *format       // the layout the owner keeps its nodes in
	sessions ownerSessions // the registry's client: sessions to write with, contexts, logger
	writes   ownWrites     // told of every write and delete (the mirror)
	edits    editAdopter   // judges changes others made to an owned node (nodemeta.go)
	counts   *counters
}

// editAdopter judges a change another client made to one of the
// registry's own nodes.
type editAdopter interface {
	// adopt returns the data the registry now wants for node id of
	// service, and true, when got (the znode's data, written by another
	// client) differs from wanted only in what the registry adopts; false
	// when the owner must restore wanted.
	adopt(service, id string, wanted, got []byte) ([]byte, bool)
}

// ownerSessions is what the owner's workers use of their registry's
// client; the registry implements it over ZooKeeper, the owner's unit
// tests over an in-memory fake.
type ownerSessions interface {
	// begin returns a context for one operation (bounded, ended by Close).
	begin(parent context.Context) (context.Context, context.CancelFunc)
	// znodes returns the session to write with, waiting for one.
	znodes(ctx context.Context) (znodes, error)
	// logger returns the logger in use.
	logger() Logger
	// done is closed when the registry closes.
	done() <-chan struct{}
}

// ownWrites is told of the registry's own writes: ZooKeeper lets a
// session read its own writes, and the mirror keeps that promise.
type ownWrites interface {
	ownWrite(r nodeRef)
}

// ownedNode is one node registered by the registry, or being removed.
type ownedNode struct {
	ref         nodeRef
	service, id string // as registered, for messages

	write sync.Mutex // held while this node's znode is written or deleted

	// guarded by owner.mu
	data      []byte // the payload to keep in ZooKeeper
	confirmed int64  // session in which the znode was seen ours, with data, watched; 0 if not
	removed   bool   // deregistered: delete the znode if ours, then forget
	held      bool   // seen ours at least once since registered
	lostTo    int64  // the live session that took the node over from us; 0 if none
}

// heldError reports a node another live session holds, which the owner
// does not take back (see write).
type heldError struct {
	path    string
	session int64
}

func (e *heldError) Error() string {
	return fmt.Sprintf("%s is held by another live session, 0x%x, which took it over from this registry: two registrations use the same service and node id; this one is refused while that session holds the node", shortPath(e.path), e.session)
}

func newOwner(deps ownerDeps) *owner {
	return &owner{
		queue: workqueue.New(50*time.Millisecond, 2*time.Second),
		deps:  deps,
		nodes: map[string]*ownedNode{},
	}
}

// start hands the owner's work to workers that spawn starts.
func (o *owner) start(spawn func(func())) {
	o.queue.Process(maxOwnerWorkers, o.handle, spawn)
}

// ref returns the ref of node id of service in the owner's format; the
// registry checked that the format can store it.
func (o *owner) ref(service, id string) nodeRef {
	r, _ := o.deps.format.ref(service, id)
	return r
}

// layout returns the owner's layout for cfg.
func (o *owner) layout(cfg Config) layout {
	l, _ := o.deps.format.layout(cfg)
	return l
}

// tally returns how many nodes are registered (wanted), and how many of
// them are confirmed ours in the current session.
func (o *owner) tally() (registered, held int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, on := range o.nodes {
		if !on.removed {
			registered++
			if on.confirmed != 0 {
				held++
			}
		}
	}
	return registered, held
}

// holds reports whether node id of service is registered (wanted).
func (o *owner) holds(service, id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.nodes[o.ref(service, id).key()]
	return n != nil && !n.removed
}

// count returns how many nodes are registered (wanted).
func (o *owner) count() int { n, _ := o.tally(); return n }

// heldCount returns how many nodes are confirmed ours in the current
// session.
func (o *owner) heldCount() int { _, n := o.tally(); return n }

// register makes sure the node exists with data, owned by s's session. An
// unchanged node already confirmed in the current session costs nothing.
func (o *owner) register(ctx context.Context, s znodes, service, id string, data []byte) error {
	ref := o.ref(service, id)
	key := ref.key()
	o.mu.Lock()
	n := o.nodes[key]
	isNew := n == nil
	if isNew {
		n = &ownedNode{ref: ref, service: service, id: id}
		o.nodes[key] = n
	}
	sid := s.id()
	if !n.removed && sid != 0 && n.confirmed == sid && bytes.Equal(n.data, data) {
		o.mu.Unlock()
		return nil
	}
	// What a refusal rolls back to.
	prevData, prevRemoved, prevHeld, prevLostTo := n.data, n.removed, n.held, n.lostTo
	if n.removed {
		n.held, n.lostTo = false, 0 // registered afresh
	}
	n.data, n.removed, n.confirmed = data, false, 0
	o.mu.Unlock()

	n.write.Lock()
	err := o.write(ctx, s, n)
	n.write.Unlock()
	o.deps.writes.ownWrite(ref)
	var held *heldError
	switch {
	case err == nil || isTransient(err):
		// Verify and watch it, or keep trying in the background: a
		// registration asked for is not dropped because ZooKeeper was
		// away.
		o.queue.Add(key)
	case errors.As(err, &held):
		// Kept, and watched: registered again once the other session
		// ends or deletes the node.
		o.queue.Add(key)
	default:
		// Refused (no permission, an open directory...): retrying would
		// not help.
		o.mu.Lock()
		if o.nodes[key] == n && bytes.Equal(n.data, data) {
			if isNew {
				delete(o.nodes, key)
			} else {
				n.data, n.removed, n.held, n.lostTo = prevData, prevRemoved, prevHeld, prevLostTo
			}
		}
		o.mu.Unlock()
	}
	return err
}

// want records a registration that could not be written for want of a
// session: a worker writes it once ZooKeeper is back.
func (o *owner) want(service, id string, data []byte) {
	ref := o.ref(service, id)
	key := ref.key()
	o.mu.Lock()
	n := o.nodes[key]
	if n == nil {
		n = &ownedNode{ref: ref, service: service, id: id}
		o.nodes[key] = n
	}
	if n.removed {
		n.held, n.lostTo = false, 0
	}
	n.data, n.removed, n.confirmed = data, false, 0
	o.mu.Unlock()
	o.queue.Add(key)
}

// deregister forgets the node first, so that nothing restores it, then
// deletes its znode if the registry's session owns it.
func (o *owner) deregister(ctx context.Context, s znodes, service, id string) error {
	ref := o.ref(service, id)
	key := ref.key()
	o.mu.Lock()
	n := o.nodes[key]
	if n == nil {
		n = &ownedNode{ref: ref, service: service, id: id}
		o.nodes[key] = n
	}
	n.removed, n.data, n.confirmed = true, nil, 0
	o.mu.Unlock()

	n.write.Lock()
	err := o.remove(ctx, s, n)
	n.write.Unlock()
	o.deps.writes.ownWrite(ref)
	if err != nil && isTransient(err) {
		o.queue.Add(key) // delete it once ZooKeeper is back
	}
	return err
}

// forget is deregister for when there is no session to delete the node
// with: the node is forgotten at once, so that no reconnect restores it,
// and a worker deletes its znode, if the registry's session still owns it,
// once ZooKeeper is back. A node the registry never registered is left
// alone.
func (o *owner) forget(service, id string) {
	key := o.ref(service, id).key()
	o.mu.Lock()
	n := o.nodes[key]
	if n != nil {
		n.removed, n.data, n.confirmed = true, nil, 0
	}
	o.mu.Unlock()
	if n != nil {
		o.queue.Add(key)
	}
}

// newSession is called when a session is established that is not the one
// before: nodes of the previous session (prev) are gone, so every owned
// node is re-created and pending deletions are moot. The channel returned
// is closed once every node was written (or failed for good).
func (o *owner) newSession(prev int64) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if prev != 0 {
		o.past = append(o.past, prev)
		if len(o.past) > pastSessions {
			o.past = o.past[1:]
		}
	}
	o.restoring = map[string]bool{}
	o.restored = make(chan struct{})
	for key, n := range o.nodes {
		if n.removed {
			delete(o.nodes, key)
			continue
		}
		n.confirmed = 0
		o.restoring[key] = true
		o.queue.Add(key)
	}
	if len(o.restoring) == 0 {
		close(o.restored)
	}
	return o.restored
}

// doneRestoring marks key as handled in the current session's restore, and
// counts it if it was restored.
func (o *owner) doneRestoring(key string, restored bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.restoring[key] {
		delete(o.restoring, key)
		if restored {
			o.deps.counts.restoredNodes.Add(1)
		}
		if len(o.restoring) == 0 {
			close(o.restored)
		}
	}
}

// onEvent handles a watch event on one of the owned nodes: it was deleted
// or changed by someone else, so check it and restore it.
func (o *owner) onEvent(cfg Config, e zk.Event) {
	if e.Type != zk.EventNodeDeleted && e.Type != zk.EventNodeDataChanged && e.Type != zk.EventNodeCreated {
		return
	}
	l, ok := o.deps.format.layout(cfg)
	if !ok {
		return
	}
	kind, ref := l.parse(e.Path)
	if kind != kindNode {
		return
	}
	key := ref.key()
	o.mu.Lock()
	n := o.nodes[key]
	if n != nil {
		n.confirmed = 0
	}
	o.mu.Unlock()
	if n != nil {
		o.queue.Add(key)
	}
}

// closing reports whether the registry is closing.
func (o *owner) closing() bool {
	select {
	case <-o.deps.sessions.done():
		return true
	default:
		return false
	}
}

// handle is the workers' handler for one key.
func (o *owner) handle(key string) {
	ours, err := o.reconcile(key)
	switch {
	case o.closing():
		// Closed while at work: the session goes, and its nodes with it.
		o.queue.Forget(key)
		o.doneRestoring(key, false)
	case err == nil:
		o.queue.Forget(key)
		o.doneRestoring(key, ours)
	case isTransient(err):
		o.queue.Retry(key)
	default:
		o.queue.Forget(key)
		o.doneRestoring(key, false)
		o.deps.sessions.logger().Logf(LevelError, "zookeeper: keeping node %s registered: %v", key, err)
	}
}

// reconcile brings the znode of key in line with what the registry wants:
// ours, with our data and watched; or deleted if deregistered; or, while
// another live session holds it, watched. ours reports that the znode is
// now the registry's, with its data.
func (o *owner) reconcile(key string) (ours bool, err error) {
	o.mu.Lock()
	n := o.nodes[key]
	o.mu.Unlock()
	if n == nil {
		return false, nil
	}
	ctx, cancel := o.deps.sessions.begin(context.Background())
	defer cancel()
	s, err := o.deps.sessions.znodes(ctx)
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return false, nil
		}
		return false, err
	}

	n.write.Lock()
	defer n.write.Unlock()
	o.mu.Lock()
	removed, data := n.removed, n.data
	current := o.nodes[key] == n
	o.mu.Unlock()
	if !current {
		return false, nil
	}
	if removed {
		if err := o.remove(ctx, s, n); err != nil {
			return false, err
		}
		o.mu.Lock()
		if o.nodes[key] == n && n.removed {
			delete(o.nodes, key)
		}
		o.mu.Unlock()
		return false, nil
	}

	got, stat, err := s.get(ctx, o.layout(s.config()).refPath(n.ref), true)
	if err == nil && stat.EphemeralOwner == s.id() && !bytes.Equal(got, data) {
		// Ours, but another client changed it: an edit the registry
		// adopts (an operator draining the node) is kept, not restored.
		if adopted, ok := o.deps.edits.adopt(n.service, n.id, data, got); ok && bytes.Equal(adopted, got) {
			o.mu.Lock()
			if bytes.Equal(n.data, data) && !n.removed {
				n.data = adopted
			}
			o.mu.Unlock()
			data = adopted
		}
	}
	switch {
	case err == nil && stat.EphemeralOwner == s.id() && bytes.Equal(got, data):
		o.mu.Lock()
		if bytes.Equal(n.data, data) && !n.removed {
			n.confirmed, n.held, n.lostTo = stat.EphemeralOwner, true, 0
		}
		o.mu.Unlock()
		return true, nil
	case err == nil || errors.Is(err, zk.ErrNoNode):
		err := o.write(ctx, s, n)
		var held *heldError
		if errors.As(err, &held) {
			return false, nil // watched (get above); back here when it goes
		}
		if err != nil {
			return false, err
		}
		o.queue.Add(key) // verify and watch what was written
		return true, nil
	default:
		return false, err
	}
}

// write makes the node's znode exist with its data and be owned by the
// current session: create it; on NodeExists update it if it is ours, or
// atomically replace it if it is a predecessor's. The caller holds
// n.write.
//
// Whose is a znode held by another session? Either a predecessor's (a
// crashed process, restarted with the same node id before its session
// expired; or a persistent node of the older plugin), to be replaced at
// once; or a live contender's (another process registering the same
// service and node id). Replacing a contender's would make both replace
// each other forever. So a node is taken over only when it was never
// confirmed ours since it was registered: once it was ours, another
// session holding it took it over from us and is alive, and the owner
// yields (heldError) until that session's node is gone. A persistent
// holder and this registry's own earlier sessions are always
// predecessors.
func (o *owner) write(ctx context.Context, s znodes, n *ownedNode) error {
	cfg := s.config()
	p := o.layout(cfg).refPath(n.ref)
	recheck := false // the directory must be judged once the node exists
	if guardsDirs(cfg) {
		var err error
		if recheck, err = o.checkDirBefore(ctx, s, n); err != nil {
			return err
		}
	}
	written := func() error {
		if recheck {
			return o.checkDirAfter(ctx, s, n, p)
		}
		return nil
	}
	for attempt := 0; attempt < maxWriteAttempts; attempt++ {
		o.mu.Lock()
		data, removed, lost := n.data, n.removed, n.lostTo != 0
		o.mu.Unlock()
		if removed {
			return nil
		}
		// A node lost to a contender is most likely still held: look
		// before writing, so that its Register costs ZooKeeper a read.
		if !lost || attempt > 0 {
			err := s.create(ctx, p, data, zk.FlagEphemeral, cfg.nodeACL)
			switch {
			case err == nil:
				return written()
			case errors.Is(err, zk.ErrNoNode):
				created, err := o.ensureDirs(ctx, s, n.ref)
				if err != nil {
					return err
				}
				if created {
					recheck = false // the directory is ours
				} else if guardsDirs(cfg) {
					recheck = true // someone else created it meanwhile
				}
				continue
			case !errors.Is(err, zk.ErrNodeExists):
				return describe(cfg, opCreate, err, p)
			}
		}

		got, stat, err := s.get(ctx, p, false)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			continue
		case err != nil:
			return describe(cfg, opRead, err, p)
		}
		op := opChange
		switch holder := stat.EphemeralOwner; {
		case holder == s.id():
			if bytes.Equal(got, data) {
				return nil
			}
			err = s.set(ctx, p, data, stat.Version)
		case holder != 0 && o.contender(n, holder):
			o.yield(n, holder, p)
			return &heldError{path: p, session: holder}
		default:
			op = opReplace
			if err = s.replace(ctx, p, data, stat.Version, cfg.nodeACL); err == nil {
				return written()
			}
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, zk.ErrNoNode), errors.Is(err, zk.ErrBadVersion), errors.Is(err, zk.ErrNodeExists):
			continue
		default:
			return describe(cfg, op, err, p)
		}
	}
	return fmt.Errorf("%s kept changing under %d attempts to write it", shortPath(p), maxWriteAttempts)
}

// contender reports whether the session holding n's znode is a live
// contender rather than a predecessor (see write).
func (o *owner) contender(n *ownedNode, holder int64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, sid := range o.past {
		if sid == holder {
			return false
		}
	}
	return n.held || n.lostTo != 0
}

// yield records that holder took n over, logging it once.
func (o *owner) yield(n *ownedNode, holder int64, p string) {
	o.mu.Lock()
	changed := n.lostTo != holder
	n.lostTo, n.confirmed = holder, 0
	o.mu.Unlock()
	if changed {
		o.deps.sessions.logger().Logf(LevelError, "zookeeper: node %s was taken over by session 0x%x: another live registration uses service %s and node id %s; this registry does not take it back while that session holds it (its Register of the node fails meanwhile) and registers it again once that node is gone",
			shortPath(p), holder, quoteShort(n.service), quoteShort(n.id))
	}
}

// remove deletes the node's znode if the current session owns it. A
// missing znode, or one another session owns, is left as it is. The caller
// holds n.write.
func (o *owner) remove(ctx context.Context, s znodes, n *ownedNode) error {
	cfg := s.config()
	p := o.layout(cfg).refPath(n.ref)
	for attempt := 0; attempt < maxWriteAttempts; attempt++ {
		stat, err := s.exists(ctx, p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return nil
		case err != nil:
			return describe(cfg, opRead, err, p)
		case stat.EphemeralOwner != s.id():
			return nil
		}
		err = s.delete(ctx, p, stat.Version)
		switch {
		case err == nil, errors.Is(err, zk.ErrNoNode):
			return nil
		case errors.Is(err, zk.ErrBadVersion):
			continue
		default:
			return describe(cfg, opDelete, err, p)
		}
	}
	return fmt.Errorf("%s kept changing under %d attempts to delete it", shortPath(p), maxWriteAttempts)
}

// ensureDirs creates the directories above node r that are missing: the
// service directory as a container znode, which the server deletes once
// its last node is gone, with the directory ACL; the root and its
// ancestors as persistent znodes with the root ACL. NodeExists is success:
// many processes may race here, and a directory someone else created keeps
// its ACL (see dirguard.go). It reports whether it created the service
// directory itself.
func (o *owner) ensureDirs(ctx context.Context, s znodes, r nodeRef) (createdService bool, err error) {
	cfg := s.config()
	dirs := o.layout(cfg).ancestors(r)
	// Most ancestors usually exist already: try the deepest first and
	// walk up only on NoNode, then back down.
	for i := 0; i < len(dirs); {
		d := dirs[i]
		flags, acl := int32(zk.FlagPersistent), cfg.rootACL
		if d.container {
			flags, acl = zk.FlagContainer, cfg.dirACL
		}
		err := s.create(ctx, d.path, nil, flags, acl)
		switch {
		case err == nil, errors.Is(err, zk.ErrNodeExists):
			if i == 0 {
				return err == nil, nil
			}
			i-- // parent is there now: back down
		case errors.Is(err, zk.ErrNoNode):
			i++ // parent missing: go up
			if i == len(dirs) {
				return false, describe(cfg, opCreate, err, d.path)
			}
		default:
			return false, describe(cfg, opCreate, err, d.path)
		}
	}
	return false, nil
}
