package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/logger"

	"github.com/zkmicro/zookeeper/internal/workqueue"
)

// maxWriteAttempts bounds the create/compare/replace loop for one node when
// other clients keep changing it underneath.
const maxWriteAttempts = 8

// ownerWorkers is the number of goroutines restoring and verifying owned
// nodes; after a session expiry they re-create all of them concurrently.
const ownerWorkers = 16

// owner keeps the nodes this registry registered alive in ZooKeeper: it
// writes them, watches them, re-creates them in every new session, and
// restores them when someone else deletes or changes them.
type owner struct {
	r     *zkRegistry
	queue *workqueue.Queue // keys of nodes to verify, restore or delete

	mu        sync.Mutex // guards the fields below and those of every ownedNode
	nodes     map[string]*ownedNode
	restoring map[string]bool // nodes to re-create in the current session
	restored  chan struct{}   // closed when restoring is empty
}

// ownedNode is one node registered by this registry, or being removed.
type ownedNode struct {
	key     string // escaped "<service>/<node-id>", relative to the root
	service string
	id      string

	write sync.Mutex // held while this node's znode is written or deleted

	// guarded by owner.mu
	data      []byte // the payload to keep in ZooKeeper
	confirmed int64  // session in which the znode was seen ours, with data, watched; 0 if not
	removed   bool   // deregistered: delete the znode if ours, then forget
}

func newOwner(r *zkRegistry) *owner {
	return &owner{
		r:     r,
		queue: workqueue.New(50*time.Millisecond, 2*time.Second),
		nodes: map[string]*ownedNode{},
	}
}

func nodeKey(service, id string) string {
	return escapeSegment(service) + "/" + escapeSegment(id)
}

// count returns how many nodes are registered.
func (o *owner) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, on := range o.nodes {
		if !on.removed {
			n++
		}
	}
	return n
}

// register makes sure the node exists with data, owned by s's session. An
// unchanged node already confirmed in the current session costs nothing.
func (o *owner) register(ctx context.Context, s *session, cfg config, service, id string, data []byte) error {
	key := nodeKey(service, id)
	o.mu.Lock()
	n := o.nodes[key]
	isNew := n == nil
	if isNew {
		n = &ownedNode{key: key, service: service, id: id}
		o.nodes[key] = n
	}
	sid := s.sessionID()
	if !n.removed && sid != 0 && n.confirmed == sid && bytes.Equal(n.data, data) {
		o.mu.Unlock()
		return nil
	}
	prevData, prevRemoved := n.data, n.removed
	n.data, n.removed, n.confirmed = data, false, 0
	o.mu.Unlock()

	n.write.Lock()
	err := o.write(ctx, s, cfg, n)
	n.write.Unlock()
	o.r.mirror.ownWrite(escapeSegment(service), escapeSegment(id))
	switch {
	case err == nil || isTransient(err):
		// Verify and watch it, or keep trying in the background: a
		// registration asked for is not dropped because ZooKeeper was away.
		o.queue.Add(key)
	default:
		// Refused (no permission, bad ACL...): retrying would not help.
		o.mu.Lock()
		if o.nodes[key] == n && bytes.Equal(n.data, data) {
			if isNew {
				delete(o.nodes, key)
			} else {
				n.data, n.removed = prevData, prevRemoved
			}
		}
		o.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("zookeeper: register service %q node %q: %w", service, id, err)
	}
	return nil
}

// deregister forgets the node first, so that nothing restores it, then
// deletes its znode if this registry's session owns it.
func (o *owner) deregister(ctx context.Context, s *session, cfg config, service, id string) error {
	key := nodeKey(service, id)
	o.mu.Lock()
	n := o.nodes[key]
	if n == nil {
		n = &ownedNode{key: key, service: service, id: id}
		o.nodes[key] = n
	}
	n.removed, n.data, n.confirmed = true, nil, 0
	o.mu.Unlock()

	n.write.Lock()
	err := o.remove(ctx, s, cfg, n)
	n.write.Unlock()
	o.r.mirror.ownWrite(escapeSegment(service), escapeSegment(id))
	if err != nil {
		if isTransient(err) {
			o.queue.Add(key) // delete it once ZooKeeper is back
		}
		return fmt.Errorf("zookeeper: deregister service %q node %q: %w", service, id, err)
	}
	return nil
}

// forget is deregister for when there is no session to delete the node
// with: the node is forgotten at once, so that no reconnect restores it, and
// a worker deletes its znode, if this registry's session still owns it, once
// ZooKeeper is back. A node this registry never registered is left alone.
func (o *owner) forget(service, id string) {
	key := nodeKey(service, id)
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

// newSession is called by the keeper when a session is established that is
// not the one before: nodes of the old session are gone, so every owned
// node is re-created and pending deletions are moot. The channel returned
// is closed once every node was written (or failed for good).
func (o *owner) newSession() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
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

// doneRestoring marks key as restored in the current session.
func (o *owner) doneRestoring(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.restoring[key] {
		delete(o.restoring, key)
		if len(o.restoring) == 0 {
			close(o.restored)
		}
	}
}

// onEvent handles a watch event on one of the owned nodes: it was deleted
// or changed by someone else, so check it and restore it.
func (o *owner) onEvent(e zk.Event, root string) {
	if e.Type != zk.EventNodeDeleted && e.Type != zk.EventNodeDataChanged && e.Type != zk.EventNodeCreated {
		return
	}
	key, ok := strings.CutPrefix(e.Path, root+"/")
	if !ok || strings.Count(key, "/") != 1 {
		return
	}
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

// run is one owner worker.
func (o *owner) run() {
	defer o.r.wg.Done()
	for {
		key, ok := o.queue.Get()
		if !ok {
			return
		}
		err := o.reconcile(key)
		switch {
		case err == nil:
			o.queue.Forget(key)
			o.doneRestoring(key)
		case o.r.ctx.Err() != nil:
			// Closed while at work: the session goes, and its nodes with it.
			o.queue.Forget(key)
			o.doneRestoring(key)
		case isTransient(err):
			o.queue.Retry(key)
		default:
			o.queue.Forget(key)
			o.doneRestoring(key)
			o.r.config().logger.Logf(logger.ErrorLevel, "zookeeper: keeping node %s registered: %v", key, err)
		}
		o.queue.Done(key)
	}
}

// reconcile brings the znode of key in line with what the registry wants:
// ours, with our data and watched; or deleted if deregistered.
func (o *owner) reconcile(key string) error {
	o.mu.Lock()
	n := o.nodes[key]
	o.mu.Unlock()
	if n == nil {
		return nil
	}
	ctx, cfg, cancel := o.r.opContext(context.Background())
	defer cancel()
	s, err := o.r.conn(ctx)
	if err != nil {
		if errors.Is(err, errClosed) {
			return nil
		}
		return err
	}

	n.write.Lock()
	defer n.write.Unlock()
	o.mu.Lock()
	removed, data := n.removed, n.data
	current := o.nodes[key] == n
	o.mu.Unlock()
	if !current {
		return nil
	}
	if removed {
		if err := o.remove(ctx, s, cfg, n); err != nil {
			return err
		}
		o.mu.Lock()
		if o.nodes[key] == n && n.removed {
			delete(o.nodes, key)
		}
		o.mu.Unlock()
		return nil
	}

	p := cfg.root + "/" + key
	type got struct {
		data []byte
		stat *zk.Stat
	}
	g, err := call(ctx, s, func(c *zk.Conn) (got, error) {
		d, st, _, err := c.GetW(p)
		return got{d, st}, err
	})
	switch {
	case err == nil && g.stat.EphemeralOwner == s.sessionID() && bytes.Equal(g.data, data):
		o.mu.Lock()
		if bytes.Equal(n.data, data) && !n.removed {
			n.confirmed = g.stat.EphemeralOwner
		}
		o.mu.Unlock()
		return nil
	case err == nil || errors.Is(err, zk.ErrNoNode):
		if err := o.write(ctx, s, cfg, n); err != nil {
			return err
		}
		o.queue.Add(key) // verify and watch what was written
		return nil
	default:
		return err
	}
}

// write makes the node's znode exist with its data and be owned by the
// current session: create it; on NodeExists update it if it is ours, or
// atomically replace it if another session (such as a crashed predecessor
// whose session has not expired yet) owns it. The caller holds n.write.
func (o *owner) write(ctx context.Context, s *session, cfg config, n *ownedNode) error {
	p := cfg.root + "/" + n.key
	for attempt := 0; attempt < maxWriteAttempts; attempt++ {
		o.mu.Lock()
		data, removed := n.data, n.removed
		o.mu.Unlock()
		if removed {
			return nil
		}
		_, err := call(ctx, s, func(c *zk.Conn) (string, error) {
			return c.Create(p, data, zk.FlagEphemeral, cfg.nodeACL)
		})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, zk.ErrNoNode):
			if err := ensureDirs(ctx, s, cfg, path.Dir(p)); err != nil {
				return err
			}
			continue
		case !errors.Is(err, zk.ErrNodeExists):
			return describe(cfg, opCreate, err, p)
		}

		type got struct {
			data []byte
			stat *zk.Stat
		}
		g, err := call(ctx, s, func(c *zk.Conn) (got, error) {
			d, st, err := c.Get(p)
			return got{d, st}, err
		})
		switch {
		case errors.Is(err, zk.ErrNoNode):
			continue
		case err != nil:
			return describe(cfg, opRead, err, p)
		}
		op := opChange
		if g.stat.EphemeralOwner == s.sessionID() {
			if bytes.Equal(g.data, data) {
				return nil
			}
			_, err = call(ctx, s, func(c *zk.Conn) (*zk.Stat, error) {
				return c.Set(p, data, g.stat.Version)
			})
		} else {
			op = opReplace
			err = replace(ctx, s, cfg, p, data, g.stat.Version)
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
	return fmt.Errorf("zookeeper: %s kept changing under %d attempts to write it", p, maxWriteAttempts)
}

// replace deletes the znode at p if it still has version and creates ours in
// its place, in one transaction.
func replace(ctx context.Context, s *session, cfg config, p string, data []byte, version int32) error {
	res, err := call(ctx, s, func(c *zk.Conn) ([]zk.MultiResponse, error) {
		return c.Multi(
			&zk.DeleteRequest{Path: p, Version: version},
			&zk.CreateRequest{Path: p, Data: data, Acl: cfg.nodeACL, Flags: zk.FlagEphemeral},
		)
	})
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Error != nil {
			return r.Error
		}
	}
	return nil
}

// remove deletes the node's znode if the current session owns it. A missing
// znode, or one another session owns, is left as it is. The caller holds
// n.write.
func (o *owner) remove(ctx context.Context, s *session, cfg config, n *ownedNode) error {
	p := cfg.root + "/" + n.key
	for attempt := 0; attempt < maxWriteAttempts; attempt++ {
		stat, err := call(ctx, s, func(c *zk.Conn) (*zk.Stat, error) {
			ok, st, err := c.Exists(p)
			if err == nil && !ok {
				return nil, zk.ErrNoNode
			}
			return st, err
		})
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return nil
		case err != nil:
			return describe(cfg, opRead, err, p)
		case stat.EphemeralOwner != s.sessionID():
			return nil
		}
		_, err = call(ctx, s, func(c *zk.Conn) (struct{}, error) {
			return struct{}{}, c.Delete(p, stat.Version)
		})
		switch {
		case err == nil, errors.Is(err, zk.ErrNoNode):
			return nil
		case errors.Is(err, zk.ErrBadVersion):
			continue
		default:
			return describe(cfg, opDelete, err, p)
		}
	}
	return fmt.Errorf("zookeeper: %s kept changing under %d attempts to delete it", p, maxWriteAttempts)
}

// ensureDirs creates dir and its missing ancestors: the service directory
// (the last segment below the root) as a container znode, which the server
// deletes once its last node is gone, with cfg.dirACL; and the root and its
// ancestors as persistent znodes with cfg.rootACL. NodeExists is success:
// many processes may race here, and a directory someone else created keeps
// its ACL.
func ensureDirs(ctx context.Context, s *session, cfg config, dir string) error {
	var missing []string
	for p := dir; p != "/" && p != "."; p = path.Dir(p) {
		missing = append(missing, p)
	}
	// Create from the top; most ancestors usually exist already, so try the
	// deepest first and walk up only on NoNode.
	for i := 0; i < len(missing); {
		p := missing[i]
		flag, acl := int32(zk.FlagPersistent), cfg.rootACL
		if len(p) > len(cfg.root) {
			flag, acl = zk.FlagContainer, cfg.dirACL
		}
		_, err := call(ctx, s, func(c *zk.Conn) (string, error) {
			if flag == zk.FlagContainer {
				created, err := c.CreateContainer(p, nil, zk.FlagContainer, acl)
				if isUnimplemented(err) {
					// Before ZooKeeper 3.6: no containers.
					return c.Create(p, nil, zk.FlagPersistent, acl)
				}
				return created, err
			}
			return c.Create(p, nil, zk.FlagPersistent, acl)
		})
		switch {
		case err == nil, errors.Is(err, zk.ErrNodeExists):
			if i == 0 {
				return nil
			}
			i-- // parent is there now: back down
		case errors.Is(err, zk.ErrNoNode):
			i++ // parent missing: go up
			if i == len(missing) {
				return describe(cfg, opCreate, err, p)
			}
		default:
			return describe(cfg, opCreate, err, p)
		}
	}
	return nil
}

// isUnimplemented reports a server that does not know an operation; zk has
// no sentinel for ZooKeeper's UNIMPLEMENTED (-6).
func isUnimplemented(err error) bool {
	return err != nil && (errors.Is(err, zk.ErrBadArguments) || strings.HasSuffix(err.Error(), "unknown error: -6"))
}

// Operations named by describe.
const (
	opCreate  = "create"
	opRead    = "read"
	opChange  = "change"
	opReplace = "replace"
	opDelete  = "delete"
)

// describe names the path in err and, for ZooKeeper's refusals, which
// permission on which znode this registry lacks: ZooKeeper checks CREATE and
// DELETE on the parent directory, READ and WRITE on the znode itself.
// Refusals are permanent (isTransient is false): callers return them rather
// than retry.
func describe(cfg config, op string, err error, p string) error {
	switch {
	case errors.Is(err, zk.ErrNoAuth):
		var missing string
		switch op {
		case opCreate:
			missing = "the ACL of " + path.Dir(p) + " does not grant CREATE"
		case opDelete:
			missing = "the ACL of " + path.Dir(p) + " does not grant DELETE"
		case opReplace:
			missing = "it belongs to another session, and the ACL of " + path.Dir(p) + " does not grant DELETE and CREATE"
		case opChange:
			missing = "its ACL does not grant WRITE"
		default:
			missing = "its ACL does not grant READ"
		}
		return fmt.Errorf("not allowed to %s %s: %s to %s: %w", op, p, missing, cfg.identity(), err)
	case errors.Is(err, zk.ErrInvalidACL):
		return fmt.Errorf("ZooKeeper refused the ACL for %s (see the ACL and DirACL options): %w", p, err)
	default:
		return fmt.Errorf("%s: %w", p, err)
	}
}
