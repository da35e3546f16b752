package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/go-zookeeper/zk"
)

// This file holds what diagnostics tools (the zkmicro command's doctor and
// prune) need beyond the registry's API, as named calls: nothing outside
// the engine holds a raw zk.Conn.

// TLSConfig returns a copy of the TLS configuration connections are dialled
// with, nil when they are plaintext. Files named by the EnvTLS* variables
// are read now. Like the registry's own dialer, the caller should verify
// the host it dials when ServerName is empty. Errors are prefixed
// "zookeeper: " and name the variable or file at fault, never a secret.
func (c Config) TLSConfig() (*tls.Config, error) {
	t, err := c.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	if t == nil {
		return nil, nil
	}
	return t.Clone(), nil
}

// DecodeNode parses the data of a node znode as readers of the registry
// do (see payload.go): a JSON object naming a service and holding exactly
// one node with an id. Anything else is not a registration, and the error
// says why.
func DecodeNode(data []byte) (*Service, error) {
	return decodeNode(data)
}

// RootInfo describes a registry's root znode (chroot + prefix).
type RootInfo struct {
	Path     string   // the root's path
	Exists   bool     // false until the first registration creates it
	Services int      // service directories under it
	ACL      []zk.ACL // its ACL; nil if it does not exist or ACLErr
	ACLErr   error    // why its ACL could not be read
}

// Root lists the registry's root and reads its ACL, bounded by the
// configured timeout.
func (r *Registry) Root(ctx context.Context) (RootInfo, error) {
	ctx, cancel := r.begin(ctx)
	defer cancel()
	s, err := r.session(ctx)
	if err != nil {
		return RootInfo{}, fmt.Errorf("zookeeper: %w", err)
	}
	root := s.cfg.layout.root
	info := RootInfo{Path: root}
	kids, err := call(ctx, s.conn, func(z *zk.Conn) ([]string, error) {
		ch, _, err := z.Children(root)
		return ch, err
	})
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return info, nil
	case err != nil:
		return info, fmt.Errorf("zookeeper: list %s: %w", shortPath(root), err)
	}
	info.Exists, info.Services = true, len(kids)
	info.ACL, _, info.ACLErr = s.getACL(ctx, root)
	if info.ACLErr != nil {
		info.ACLErr = describe(s.cfg, opRead, info.ACLErr, root)
	}
	return info, nil
}

// UnownedNode is a node znode under a registry's root that no session
// owns: a persistent znode, as the older plugin writes them.
type UnownedNode struct {
	// Path is the znode's path.
	Path string
	// Service and ID are the service name and node id the path stands for
	// (its segments unescaped, or as they are when they are not valid
	// escapes).
	Service, ID string
	// Registration is the znode's data decoded, nil when it is not a
	// registration; Invalid then says why.
	Registration *Service
	Invalid      error

	czxid   int64 // the znode as read: its creation
	version int32 // and its data version
}

// Unowned reads every node znode under the registry's root and returns
// those that no session owns, sorted by path. Each call to ZooKeeper is
// bounded by the configured timeout; many are in flight at once.
func (r *Registry) Unowned(ctx context.Context) ([]UnownedNode, error) {
	s, err := r.Session(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := r.begin(ctx)
	defer cancel()
	l := s.cfg.layout
	refs, err := listNodes(ctx, s, l)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	paths := make([]string, len(refs))
	for i, ref := range refs {
		paths[i] = l.refPath(ref)
	}
	got, err := readData(ctx, s.conn, paths)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: read %s: %w", shortPath(l.root), err)
	}
	var out []UnownedNode
	for i, z := range got {
		switch {
		case errors.Is(z.dataErr, zk.ErrNoNode):
			continue
		case z.dataErr != nil:
			return nil, fmt.Errorf("zookeeper: %w", describe(s.cfg, opRead, z.dataErr, paths[i]))
		case z.stat.EphemeralOwner != 0:
			continue // a live session's
		}
		n := UnownedNode{Path: paths[i], Service: unescapedOrRaw(refs[i].dir), ID: unescapedOrRaw(refs[i].child), czxid: z.stat.Czxid, version: z.stat.Version}
		n.Registration, n.Invalid = decodeNode(z.data)
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// unescapedOrRaw is a path segment as the name it stands for, or as it is
// if it is not a valid escape.
func unescapedOrRaw(segment string) string {
	if s, err := UnescapeSegment(segment); err == nil {
		return s
	}
	return segment
}

// Errors of DeleteUnowned that leave the znode alone.
var (
	// ErrChanged: the znode is no longer the one judged (another version,
	// another creation, or now owned by a session).
	ErrChanged = errors.New("changed since it was read")
	// ErrGone: someone else deleted it meanwhile.
	ErrGone = errors.New("deleted by someone else meanwhile")
)

// pruneMarker is the child DeleteUnowned creates and deletes in the multi
// that deletes an unowned znode: ZooKeeper refuses children under an
// ephemeral znode, so the multi fails if the znode became a session's.
const pruneMarker = "zkmicro-prune-check"

// DeleteUnowned deletes n's znode if it is still the one Unowned read:
// the same creation (czxid) and data version, owned by no session. It
// returns ErrChanged or ErrGone (wrapped) when it is not.
//
// ZooKeeper's multi compares data versions only, so the check is made in
// two parts. A read just before the delete compares the creation. The
// delete is one multi that creates and deletes a child of the znode (which
// ZooKeeper refuses under an ephemeral znode) and deletes the znode at the
// version judged: so a takeover, which replaces the znode with an
// ephemeral one, and a re-registration by the older plugin, which sets
// its data, both make it fail, even between that read and the multi. What
// it cannot tell is a persistent znode deleted and created again, at the
// same version, between the read and the multi.
func (r *Registry) DeleteUnowned(ctx context.Context, n UnownedNode) error {
	s, err := r.Session(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := r.begin(ctx)
	defer cancel()
	stat, err := s.exists(ctx, n.Path)
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("zookeeper: %s: %w", shortPath(n.Path), ErrGone)
	case err != nil:
		return fmt.Errorf("zookeeper: %w", describe(s.cfg, opRead, err, n.Path))
	case stat.Czxid != n.czxid || stat.EphemeralOwner != 0 || stat.Version != n.version:
		return fmt.Errorf("zookeeper: %s: %w", shortPath(n.Path), ErrChanged)
	}
	marker := n.Path + "/" + pruneMarker
	res, err := call(ctx, s.conn, func(z *zk.Conn) ([]zk.MultiResponse, error) {
		return z.Multi(
			&zk.CreateRequest{Path: marker, Acl: zk.WorldACL(zk.PermAll), Flags: zk.FlagPersistent},
			&zk.DeleteRequest{Path: marker, Version: 0},
			&zk.DeleteRequest{Path: n.Path, Version: n.version},
		)
	})
	if err == nil {
		return nil
	}
	changed := errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNotEmpty)
	for _, rr := range res {
		switch {
		case errors.Is(rr.Error, zk.ErrNoNode):
			return fmt.Errorf("zookeeper: %s: %w", shortPath(n.Path), ErrGone)
		case errors.Is(rr.Error, zk.ErrBadVersion), errors.Is(rr.Error, zk.ErrNodeExists), errors.Is(rr.Error, zk.ErrNotEmpty),
			isNoChildrenForEphemerals(rr.Error):
			changed = true
		}
	}
	if changed || isNoChildrenForEphemerals(err) {
		return fmt.Errorf("zookeeper: %s: %w", shortPath(n.Path), ErrChanged)
	}
	if errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("zookeeper: %s: %w", shortPath(n.Path), ErrGone)
	}
	return fmt.Errorf("zookeeper: %w", multiError(s.cfg, []any{
		&zk.CreateRequest{Path: marker}, &zk.DeleteRequest{Path: marker}, &zk.DeleteRequest{Path: n.Path},
	}, res, err))
}

// isNoChildrenForEphemerals reports ZooKeeper's refusal of a child under
// an ephemeral znode.
func isNoChildrenForEphemerals(err error) bool {
	return errors.Is(err, zk.ErrNoChildrenForEphemerals)
}

// ProbeSession opens a session with server alone, configured as cfg is
// (credentials, TLS, session timeout; its other servers are left out),
// and returns the session timeout the server granted. The session is
// closed before it returns. The wait is bounded by ctx and cfg's timeout.
func ProbeSession(ctx context.Context, cfg Config, server string) (time.Duration, error) {
	cfg.servers = []string{server}
	c := &Client{events: newEventQueue(), group: newGroup(), counts: &counters{}, cfg: cfg}
	defer func() { _ = c.Close() }()
	ctx, cancel := c.opContext(ctx, 0)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return 0, fmt.Errorf("zookeeper: %w", err)
	}
	return s.NegotiatedTimeout(), nil
}

// listNodes lists the node znodes under l's root: the directories, then
// all of them at once.
func listNodes(ctx context.Context, s *Session, l layout) ([]nodeRef, error) {
	c := s.conn
	dirs, err := call(ctx, s.conn, func(c *zk.Conn) ([]string, error) {
		ch, _, err := c.Children(l.root)
		return ch, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", shortPath(l.root), err)
	}
	items := make([]readItem, len(dirs))
	for i, d := range dirs {
		items[i] = readItem{path: l.dirPath(d), need: needList}
	}
	lists, err := c.read(ctx, items, readOptions{detached: true})
	if err != nil {
		return nil, err
	}
	var refs []nodeRef
	for i, d := range dirs {
		if err := lists[i].listErr; err != nil && !errors.Is(err, zk.ErrNoNode) {
			return nil, fmt.Errorf("list %s: %w", shortPath(l.dirPath(d)), err)
		}
		for _, child := range lists[i].children {
			refs = append(refs, nodeRef{d, child})
		}
	}
	return refs, nil
}
