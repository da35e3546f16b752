package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/go-zookeeper/zk"
)

// This file guards a Tree against squatted znodes, as dirguard.go guards
// the registry's service directories, with the same check (judgeACL).
// With credentials, the znodes a config source writes give only its own
// identities the right to change them; but anyone may create the prefix,
// or a key, before the source's first write, with an open ACL, and then
// add keys beside the source's (which every service loads), change or
// delete them. So, unless OpenTree accepts them, a subtree whose root or
// any znode below it lets an identity other than the client's own (or
// AllowedACL's) create, write, delete or administer it is refused: by
// Snapshot (and so by the source's Read and its watchers, which wait),
// and by Apply, which also checks again, just before its multi, the ACLs
// of the znodes the multi touches (an ACL change fires no watch).

// treeACLError refuses a subtree holding a znode others may change.
type treeACLError struct {
	path  string
	entry zk.ACL
	who   string // the client's identity
}

func (e *treeACLError) Error() string {
	return fmt.Sprintf("%s has ACL entry %s:%s:%s, which lets an identity other than %s add keys beside this source's, change or delete them; "+
		"if the znode belongs to this configuration, set its ACL (zkCli, authenticated as this source: setAcl %s auth::cdrwa,world:anyone:r, or auth::cdrwa for a private one), name that identity with the ACL option, or accept such znodes with OpenTree(true) or %s=true; if it does not, delete it and write again",
		shortPath(e.path), e.entry.Scheme, e.entry.ID, permString(e.entry.Perms), e.who, shortPath(e.path), EnvOpenDirs)
}

// guards reports whether the tree checks ACLs for cfg.
func (t *Tree) guards(cfg Config) bool { return cfg.Authenticated() && !t.openTree }

// guard returns a treeACLError for the first znode of snap, by path, that
// others may change, nil if there is none or the tree does not guard.
// Entries whose identities only the server knows (a certificate's) are
// not judged: the tree does not learn its own.
func (t *Tree) guard(cfg Config, snap *TreeSnapshot) error {
	if !t.guards(cfg) {
		return nil
	}
	var bad []string
	for rel, n := range snap.Nodes {
		if v, _ := judgeACL(cfg, n.ACL, nil, t.allowedACL); v == dirForeign {
			bad = append(bad, rel)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	_, entry := judgeACL(cfg, snap.Nodes[bad[0]].ACL, nil, t.allowedACL)
	return &treeACLError{path: snap.Root + bad[0], entry: entry, who: cfg.identity()}
}

// checkWrite reads again the ACLs of the znodes of the subtree under root
// that ops touch and that exist (the targets of sets and deletes, the
// parents of creates; the root's ancestors are not the subtree's), and
// refuses the write if one of them lets others change it.
func (t *Tree) checkWrite(ctx context.Context, s *Session, root string, ops []any) error {
	if !t.guards(s.cfg) {
		return nil
	}
	var paths []string
	add := func(p string) {
		if _, in := treeRel(root, p); in && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	for _, op := range ops {
		switch op := op.(type) {
		case *zk.CreateRequest:
			add(parent(op.Path))
		case *zk.SetDataRequest:
			add(op.Path)
		case *zk.DeleteRequest:
			add(op.Path)
		}
	}
	items := make([]readItem, len(paths))
	for i, p := range paths {
		items[i] = readItem{path: p, need: needACL}
	}
	got, err := s.conn.read(ctx, items, readOptions{detached: true})
	if err != nil {
		return err
	}
	for i, r := range got {
		switch {
		case errors.Is(r.aclErr, zk.ErrNoNode):
			continue // created by the multi, or gone: the multi says
		case r.aclErr != nil:
			return describe(s.cfg, opRead, r.aclErr, paths[i])
		}
		if v, entry := judgeACL(s.cfg, r.acl, nil, t.allowedACL); v == dirForeign {
			return &treeACLError{path: paths[i], entry: entry, who: s.cfg.identity()}
		}
	}
	return nil
}
