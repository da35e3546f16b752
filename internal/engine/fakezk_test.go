package engine

import (
	"context"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"
)

// fakeZK is an in-memory ZooKeeper for the owner's unit tests: a tree of
// znodes with versions, ephemeral owners and ACLs, shared by fake
// sessions, with one-shot data watches. It implements what the owner uses
// (znodes), with ZooKeeper's answers, and counts each session's writes.
type fakeZK struct {
	mu     sync.Mutex // guards the fields below
	nodes  map[string]*fakeNode
	zxid   int64
	writes map[int64]int // by session id
}

type fakeNode struct {
	data  []byte
	stat  zk.Stat
	acl   []zk.ACL
	watch map[*fakeSession]bool // data watches, fired once
}

// fakeSession is one session on a fakeZK; events go to onEvent.
type fakeSession struct {
	zk      *fakeZK
	sid     int64
	cfg     Config
	onEvent func(zk.Event)
	certIDs []zk.ACL // identities "auth" resolves to beyond the digest ones (a TLS client certificate's)
}

func newFakeZK() *fakeZK {
	return &fakeZK{nodes: map[string]*fakeNode{"/": {}}, writes: map[int64]int{}}
}

func (f *fakeZK) session(sid int64, cfg Config, onEvent func(zk.Event)) *fakeSession {
	if onEvent == nil {
		onEvent = func(zk.Event) {}
	}
	return &fakeSession{zk: f, sid: sid, cfg: cfg, onEvent: onEvent}
}

// fire is a watch event to deliver once the lock is released.
type fire struct {
	to *fakeSession
	e  zk.Event
}

func deliver(fires []fire) {
	for _, f := range fires {
		f.to.onEvent(f.e)
	}
}

// firesLocked takes the data watches of p.
func (f *fakeZK) firesLocked(p string, t zk.EventType) []fire {
	n := f.nodes[p]
	if n == nil {
		return nil
	}
	var out []fire
	for s := range n.watch {
		out = append(out, fire{s, zk.Event{Type: t, Path: p}})
	}
	n.watch = nil
	return out
}

func (f *fakeZK) createLocked(sid int64, p string, data []byte, flags int32, acl []zk.ACL) error {
	if _, ok := f.nodes[p]; ok {
		return zk.ErrNodeExists
	}
	if _, ok := f.nodes[path.Dir(p)]; !ok {
		return zk.ErrNoNode
	}
	f.zxid++
	n := &fakeNode{data: append([]byte(nil), data...), acl: acl}
	n.stat.Czxid, n.stat.Mzxid = f.zxid, f.zxid
	if flags == zk.FlagEphemeral {
		n.stat.EphemeralOwner = sid
	}
	f.nodes[p] = n
	return nil
}

func (f *fakeZK) deleteLocked(p string, version int32) ([]fire, error) {
	n := f.nodes[p]
	switch {
	case n == nil:
		return nil, zk.ErrNoNode
	case version != -1 && version != n.stat.Version:
		return nil, zk.ErrBadVersion
	}
	for q := range f.nodes {
		if path.Dir(q) == p && q != p {
			return nil, zk.ErrNotEmpty
		}
	}
	fires := f.firesLocked(p, zk.EventNodeDeleted)
	delete(f.nodes, p)
	return fires, nil
}

// Operations done by "someone else": a raw client, an operator.

func (f *fakeZK) put(sid int64, p string, data []byte, acl ...zk.ACL) {
	f.mu.Lock()
	for _, d := range ancestorsOf(p) {
		if _, ok := f.nodes[d]; !ok {
			_ = f.createLocked(0, d, nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll))
		}
	}
	if len(acl) == 0 {
		acl = zk.WorldACL(zk.PermAll)
	}
	var fires []fire
	if _, ok := f.nodes[p]; ok {
		fires, _ = f.deleteLocked(p, -1)
	}
	flags := int32(zk.FlagEphemeral)
	if sid == 0 {
		flags = zk.FlagPersistent
	}
	_ = f.createLocked(sid, p, data, flags, acl)
	f.mu.Unlock()
	deliver(fires)
}

func (f *fakeZK) remove(p string) {
	f.mu.Lock()
	fires, _ := f.deleteLocked(p, -1)
	f.mu.Unlock()
	deliver(fires)
}

// expire deletes the ephemeral nodes of sid, as ZooKeeper does when a
// session expires.
func (f *fakeZK) expire(sid int64) {
	f.mu.Lock()
	var fires []fire
	for p, n := range f.nodes {
		if n.stat.EphemeralOwner == sid {
			fs, _ := f.deleteLocked(p, -1)
			fires = append(fires, fs...)
		}
	}
	f.mu.Unlock()
	deliver(fires)
}

func (f *fakeZK) node(p string) (data []byte, owner int64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nodes[p]
	if n == nil {
		return nil, 0, false
	}
	return n.data, n.stat.EphemeralOwner, true
}

func (f *fakeZK) writesBy(sid int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes[sid]
}

func (f *fakeZK) paths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for p := range f.nodes {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func ancestorsOf(p string) []string {
	var out []string
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}

// ids returns the identities the session authenticated as.
func (s *fakeSession) ids() []zk.ACL {
	var out []zk.ACL
	for _, c := range s.cfg.auth {
		if id, ok := c.digestID(); ok {
			out = append(out, zk.ACL{Scheme: "digest", ID: id})
		}
	}
	return append(out, s.certIDs...)
}

// allowedLocked applies ZooKeeper's ACL check: perm on the znode at p.
func (s *fakeSession) allowedLocked(p string, perm int32) bool {
	n := s.zk.nodes[p]
	if n == nil || n.acl == nil {
		return true
	}
	for _, a := range n.acl {
		if a.Perms&perm == 0 {
			continue
		}
		if a.Scheme == "world" {
			return true
		}
		for _, id := range s.ids() {
			if id.Scheme == a.Scheme && id.ID == a.ID {
				return true
			}
		}
	}
	return false
}

// The znodes interface.

var _ znodes = (*fakeSession)(nil)

func (s *fakeSession) id() int64      { return s.sid }
func (s *fakeSession) config() Config { return s.cfg }

func (s *fakeSession) create(ctx context.Context, p string, data []byte, flags int32, acl []zk.ACL) error {
	f := s.zk
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes[s.sid]++
	if flags == zk.FlagContainer {
		flags = zk.FlagPersistent
	}
	resolved := make([]zk.ACL, 0, len(acl))
	for _, a := range acl {
		if a.Scheme == "auth" {
			for _, c := range s.cfg.auth {
				if id, ok := c.digestID(); ok {
					resolved = append(resolved, zk.ACL{Perms: a.Perms, Scheme: "digest", ID: id})
				}
			}
			for _, c := range s.certIDs {
				resolved = append(resolved, zk.ACL{Perms: a.Perms, Scheme: c.Scheme, ID: c.ID})
			}
			continue
		}
		resolved = append(resolved, a)
	}
	if _, exists := f.nodes[p]; !exists && !s.allowedLocked(path.Dir(p), zk.PermCreate) {
		return zk.ErrNoAuth
	}
	return f.createLocked(s.sid, p, data, flags, resolved)
}

func (s *fakeSession) get(ctx context.Context, p string, watch bool) ([]byte, *zk.Stat, error) {
	f := s.zk
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nodes[p]
	if n == nil {
		return nil, nil, zk.ErrNoNode
	}
	if watch {
		if n.watch == nil {
			n.watch = map[*fakeSession]bool{}
		}
		n.watch[s] = true
	}
	st := n.stat
	return append([]byte(nil), n.data...), &st, nil
}

func (s *fakeSession) set(ctx context.Context, p string, data []byte, version int32) error {
	f := s.zk
	f.mu.Lock()
	f.writes[s.sid]++
	n := f.nodes[p]
	switch {
	case n == nil:
		f.mu.Unlock()
		return zk.ErrNoNode
	case version != -1 && version != n.stat.Version:
		f.mu.Unlock()
		return zk.ErrBadVersion
	case !s.allowedLocked(p, zk.PermWrite):
		f.mu.Unlock()
		return zk.ErrNoAuth
	}
	f.zxid++
	n.data = append([]byte(nil), data...)
	n.stat.Version++
	n.stat.Mzxid = f.zxid
	fires := f.firesLocked(p, zk.EventNodeDataChanged)
	f.mu.Unlock()
	deliver(fires)
	return nil
}

func (s *fakeSession) replace(ctx context.Context, p string, data []byte, version int32, acl []zk.ACL) error {
	f := s.zk
	f.mu.Lock()
	f.writes[s.sid]++
	n := f.nodes[p]
	switch {
	case n == nil:
		f.mu.Unlock()
		return zk.ErrNoNode
	case version != -1 && version != n.stat.Version:
		f.mu.Unlock()
		return zk.ErrBadVersion
	case !s.allowedLocked(path.Dir(p), zk.PermDelete|zk.PermCreate) || !s.allowedLocked(path.Dir(p), zk.PermCreate):
		f.mu.Unlock()
		return zk.ErrNoAuth
	}
	fires, _ := f.deleteLocked(p, version)
	_ = f.createLocked(s.sid, p, data, zk.FlagEphemeral, acl)
	f.mu.Unlock()
	deliver(fires)
	return nil
}

func (s *fakeSession) exists(ctx context.Context, p string) (*zk.Stat, error) {
	f := s.zk
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nodes[p]
	if n == nil {
		return nil, zk.ErrNoNode
	}
	st := n.stat
	return &st, nil
}

func (s *fakeSession) delete(ctx context.Context, p string, version int32) error {
	f := s.zk
	f.mu.Lock()
	f.writes[s.sid]++
	if _, ok := f.nodes[p]; ok && !s.allowedLocked(path.Dir(p), zk.PermDelete) {
		f.mu.Unlock()
		return zk.ErrNoAuth
	}
	fires, err := f.deleteLocked(p, version)
	f.mu.Unlock()
	deliver(fires)
	return err
}

func (s *fakeSession) getACL(ctx context.Context, p string) ([]zk.ACL, *zk.Stat, error) {
	f := s.zk
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nodes[p]
	if n == nil {
		return nil, nil, zk.ErrNoNode
	}
	st := n.stat
	return append([]zk.ACL(nil), n.acl...), &st, nil
}

// pathsUnder returns the paths below p, for assertions.
func (f *fakeZK) pathsUnder(p string) []string {
	var out []string
	for _, q := range f.paths() {
		if strings.HasPrefix(q, p+"/") {
			out = append(out, q)
		}
	}
	return out
}
