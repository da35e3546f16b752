package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// This file is the Tree's worker: it takes the work watch events and the
// session asked for, reads it from ZooKeeper level by level (fetch), brings
// its own state in line (apply), and publishes a snapshot when something
// changed. Only take, giveBack and publish hold Tree.mu; the reads run
// without it, and the state is the worker's alone.

// treeChunk is how many reads of one level share a deadline.
const treeChunk = 4096

// treeState is the worker's copy of the subtree.
type treeState struct {
	entries map[string]*treeEntry // by relative path; no "" while the root is missing
	dirty   map[string]bool       // entries changed (or removed) since the last publish
}

// treeEntry is one znode of a treeState.
type treeEntry struct {
	data     []byte
	version  int32
	acl      []zk.ACL        // read with the data when the client has credentials
	err      error           // why it cannot be read; data and version are then unknown
	children map[string]bool // names of the children that have an entry
}

func newTreeState() treeState {
	return treeState{entries: map[string]*treeEntry{}, dirty: map[string]bool{}}
}

// treeItem is one znode to read in a round: its relative path and what
// to read.
type treeItem struct {
	rel  string
	need need
}

// run is the worker's goroutine: a round whenever work is kicked, and
// again after a wait when a round failed.
func (t *Tree) run() {
	var retry *time.Timer
	var retryC <-chan time.Time
	delay := time.Duration(0)
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		select {
		case <-t.group.done():
			return
		case <-t.kick:
		case <-retryC:
		}
		err := t.round()
		if t.group.stopping() {
			return
		}
		if err == nil {
			delay, retryC = 0, nil
			continue
		}
		delay = min(max(2*delay, treeRetryMin), treeRetryMax)
		if retry == nil {
			retry = time.NewTimer(delay)
		} else {
			retry.Reset(delay)
		}
		retryC = retry.C
	}
}

// round takes the pending work, does it, and publishes the result. Failed
// work goes back to be done again.
func (t *Tree) round() error {
	// The session first: work taken afterwards belongs to its epoch.
	ctx, cancel := t.opContext(context.Background())
	s, err := t.client.session(ctx)
	cancel()
	if err != nil {
		t.recordErr(err)
		return err
	}
	w, ok := t.take()
	if !ok {
		return nil
	}
	if err := t.sync(s, w); err != nil {
		t.giveBack(w, err)
		return err
	}
	t.rounds.Add(1)
	t.publish(w)
	return nil
}

// take takes the pending work; false if there is none.
func (t *Tree) take() (treeWork, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.work.empty() {
		return treeWork{}, false
	}
	w := t.work
	t.work = treeWork{}
	t.taken++
	w.seq, w.epoch = t.taken, t.epoch
	return w, true
}

// giveBack returns failed work, and records why it failed.
func (t *Tree) giveBack(w treeWork, err error) {
	t.mu.Lock()
	t.work.merge(w.watchWork)
	t.mu.Unlock()
	t.recordErr(err)
}

// recordErr records why a round failed, for Snapshot, and logs it once.
func (t *Tree) recordErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.err = err
	t.broadcastLocked()
	closing := t.group.stopping() || errors.Is(err, context.Canceled) || errors.Is(err, ErrClosed)
	if !isTransient(err) && !closing && err.Error() != t.logged {
		t.logged = err.Error()
		cfg, _ := t.client.config()
		t.logger().Logf(LevelWarn, "zookeeper: reading %s (retrying in the background): %v", shortPath(t.root(cfg)), err)
	}
}

// sync does w: it reads the marked znodes (all of them for a full read),
// then the children they gained, level by level.
func (t *Tree) sync(s *Session, w treeWork) error {
	sid := s.ID()
	root := t.root(s.cfg)
	frontier := map[string]need{}
	if w.all {
		// After an expiry zk may have connected to a server behind the
		// one before: make it catch up with the leader first.
		ctx, cancel := t.opContext(context.Background())
		_, err := call(ctx, s.conn, func(z *zk.Conn) (string, error) { return z.Sync(root) })
		cancel()
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("sync %s: %w", shortPath(root), err)
		}
		frontier[""] = needBoth
	}
	for rel, n := range w.paths {
		frontier[rel] |= n
	}
	for len(frontier) > 0 {
		items := t.state.items(frontier)
		got, err := t.fetch(s, root, items)
		if err != nil {
			return err
		}
		if s.ID() != sid {
			return errSessionReplaced
		}
		if frontier, err = t.state.apply(s.cfg, root, items, got, w.all); err != nil {
			return err
		}
	}
	return nil
}

// items returns the znodes of frontier worth reading, parents first: the
// root, the znodes the state has, and new children of those (which apply
// marks with needBoth). A znode the state no longer has is dropped: its
// parent's listing forgot it, and that listing's watch covers it.
func (s *treeState) items(frontier map[string]need) []treeItem {
	items := make([]treeItem, 0, len(frontier))
	for rel, need := range frontier {
		switch {
		case rel == "" && s.entries[rel] == nil:
			items = append(items, treeItem{rel, needBoth})
		case s.entries[rel] != nil:
			items = append(items, treeItem{rel, need})
		case s.isNewChild(rel):
			// Both reads, which arm both watches.
			items = append(items, treeItem{rel, needBoth})
		}
	}
	slices.SortFunc(items, func(a, b treeItem) int { return strings.Compare(a.rel, b.rel) })
	return items
}

// isNewChild reports whether rel is a child its parent's entry does not
// list yet: one its last listing found (apply then marks it for reading).
func (s *treeState) isNewChild(rel string) bool {
	p := s.entries[parentRel(rel)]
	return p != nil && !p.children[rel[strings.LastIndexByte(rel, '/')+1:]]
}

// fetch reads items with their watches (conn.read): the data and
// the children each asks for, many at once; a missing root gets an exists
// watch, which fires when it is created. Large levels are read in chunks,
// each bounded by the operation timeout: a bound on the whole level would
// fail every read of a big enough tree.
func (t *Tree) fetch(s *Session, root string, items []treeItem) ([]readResult, error) {
	reads := make([]readItem, len(items))
	withACL := s.cfg.Authenticated()
	for i, it := range items {
		reads[i] = readItem{path: root + it.rel, need: it.need, awaitCreate: it.rel == ""}
		if withACL && it.need&needData != 0 {
			// With credentials, the ACL too: the guard judges it, and
			// writes give a new key its parent's (see OpenTree).
			reads[i].need |= needACL
		}
	}
	out := make([]readResult, 0, len(items))
	for lo := 0; lo < len(reads); lo += treeChunk {
		ctx, cancel := t.opContext(context.Background())
		got, err := s.conn.read(ctx, reads[lo:min(lo+treeChunk, len(reads))], readOptions{watch: true, reads: &t.reads})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", shortPath(root), err)
		}
		out = append(out, got...)
	}
	for i := range out {
		for _, err := range []error{out[i].dataErr, out[i].listErr, out[i].aclErr} {
			if err != nil && isTransient(err) {
				return nil, fmt.Errorf("read %s: %w", shortPath(root+items[i].rel), err)
			}
		}
	}
	return out, nil
}

// apply brings the state in line with what was read, and returns what to
// read next: the children the listings found that the state lacks (all
// of the listed children for a full read), and the parents whose listing
// disagreed with a read. A refusal to read the root is returned; one to
// read another znode is recorded in its entry.
func (s *treeState) apply(cfg Config, root string, items []treeItem, got []readResult, full bool) (map[string]need, error) {
	next := map[string]need{}
	for i, it := range items {
		rel, r := it.rel, got[i]
		if rel != "" && s.entries[parentRel(rel)] == nil {
			continue // its parent went earlier in this loop
		}
		readData, readList := it.need&needData != 0, it.need&needList != 0
		gone := errors.Is(r.dataErr, zk.ErrNoNode) || errors.Is(r.listErr, zk.ErrNoNode)
		if gone {
			// Deleted, or deleted and created again between the two
			// reads: read it again through its parent's listing.
			if (readData && r.dataErr == nil) || (readList && r.listErr == nil) || r.created || (rel == "" && !readList) {
				if rel == "" {
					next[""] = needBoth
				} else {
					next[parentRel(rel)] |= needList
				}
			}
			s.remove(rel)
			continue
		}
		if err := cmpErr(r.dataErr, r.listErr, r.aclErr); err != nil {
			if rel == "" {
				return nil, describe(cfg, opRead, err, root)
			}
			s.refuse(rel, err)
			continue
		}
		e := s.entries[rel]
		if e == nil {
			e = &treeEntry{version: -1, children: map[string]bool{}}
			s.entries[rel] = e
			s.dirty[rel] = true
			if rel != "" {
				p := parentRel(rel)
				s.entries[p].children[rel[len(p)+1:]] = true
				s.dirty[p] = true
			}
		}
		if e.err != nil {
			e.err = nil
			s.dirty[rel] = true
		}
		if readData && (e.version != r.stat.Version || !bytes.Equal(e.data, r.data)) {
			e.data, e.version = r.data, r.stat.Version
			s.dirty[rel] = true
		}
		if it.need&needData != 0 && r.acl != nil && !slices.Equal(e.acl, r.acl) {
			e.acl = r.acl
			s.dirty[rel] = true
		}
		if readList {
			s.list(rel, e, r.children, full, next)
		}
	}
	return next, nil
}

// list brings the children of the entry rel in line with a listing:
// children no longer listed go with their subtrees, new ones are marked
// in next to be read (and recorded once read), and for a full read every
// listed child is marked.
func (s *treeState) list(rel string, e *treeEntry, names []string, full bool, next map[string]need) {
	listed := make(map[string]bool, len(names))
	for _, name := range names {
		listed[name] = true
		if full || !e.children[name] {
			next[rel+"/"+name] = needBoth
		}
	}
	for name := range e.children {
		if !listed[name] {
			s.remove(rel + "/" + name)
		}
	}
}

// refuse records that the znode rel cannot be read, with why; it keeps no
// children (they cannot be listed either).
func (s *treeState) refuse(rel string, err error) {
	e := s.entries[rel]
	if e == nil {
		e = &treeEntry{children: map[string]bool{}}
		s.entries[rel] = e
		p := parentRel(rel)
		s.entries[p].children[rel[len(p)+1:]] = true
		s.dirty[p] = true
	}
	for name := range e.children {
		s.remove(rel + "/" + name)
	}
	if e.err == nil || e.err.Error() != err.Error() {
		e.err, e.data, e.version = err, nil, -1
		s.dirty[rel] = true
	}
}

// remove forgets the znode rel and its subtree.
func (s *treeState) remove(rel string) {
	e := s.entries[rel]
	if e == nil {
		return
	}
	for name := range e.children {
		s.remove(rel + "/" + name)
	}
	delete(s.entries, rel)
	s.dirty[rel] = true
	if rel != "" {
		p := parentRel(rel)
		if pe := s.entries[p]; pe != nil {
			delete(pe.children, rel[len(p)+1:])
			s.dirty[p] = true
		}
	}
}

// node returns the entry as a TreeNode.
func (e *treeEntry) node() *TreeNode {
	return &TreeNode{
		Data:     e.data,
		Version:  e.version,
		Children: slices.Sorted(maps.Keys(e.children)),
		Err:      e.err,
		ACL:      e.acl,
	}
}

// cmpErr returns the first error that is not nil.
func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// publish makes what w changed visible: a new snapshot if the state
// changed, unless more work is pending (see maxTreeDeferrals); it marks
// the tree in sync when w was a whole read of the current epoch.
func (t *Tree) publish(w treeWork) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.all && w.epoch == t.epoch {
		t.fullAt = t.epoch
	}
	if !t.work.empty() && t.deferrals < maxTreeDeferrals && t.published != nil {
		t.deferrals++
		return
	}
	t.deferrals = 0
	s := &t.state
	if len(s.dirty) > 0 || t.published == nil {
		cfg, _ := t.client.config()
		snap := &TreeSnapshot{Root: t.root(cfg), Nodes: make(map[string]*TreeNode, len(s.entries))}
		if prev := t.published; prev != nil {
			maps.Copy(snap.Nodes, prev.Nodes)
			snap.Revision = prev.Revision
		}
		for rel := range s.dirty {
			if e := s.entries[rel]; e != nil {
				snap.Nodes[rel] = e.node()
			} else {
				delete(snap.Nodes, rel)
			}
		}
		clear(s.dirty)
		snap.Revision++
		t.published = snap
		t.foreign = t.guard(cfg, snap)
	}
	t.completed = w.seq
	t.err = nil
	t.updateSyncLocked()
	t.broadcastLocked()
}

// updateSyncLocked recomputes inSync. t.mu must be held.
func (t *Tree) updateSyncLocked() {
	t.inSync = t.online && t.published != nil && t.fullAt == t.epoch
}
