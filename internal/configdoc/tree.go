package configdoc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// Tree is a snapshot of a configuration subtree: the prefix znode and every
// znode below it, each with its data, data version and, when read, ACL. A path in a tree
// (rel) is relative to the prefix and made of the names as stored in
// ZooKeeper, that is escaped segments: "" is the prefix znode itself,
// "/database" and "/database/address" are below it, so the znode's full
// path is prefix+rel.
//
// A tree holds only whole branches: a znode is recorded after its parent and
// forgotten with its descendants. It is not safe for concurrent use.
type Tree struct {
	nodes map[string]*treeNode // by rel; no entry for "" while the prefix znode is missing
}

// treeNode is one znode of a tree.
type treeNode struct {
	data     []byte
	version  int32           // Stat.Version of data, checked by the operations of a plan
	children map[string]bool // names of the recorded children
	err      error           // why the znode cannot be read (its ACL); data is then unknown, version -1
	acl      []zk.ACL        // as the server shows it; nil when unknown (read without credentials)
}

// newTree returns the snapshot of a missing subtree: not even the prefix
// znode exists.
func newTree() *Tree {
	return &Tree{nodes: make(map[string]*treeNode)}
}

// setNode records that the znode rel exists with data (copied) at version,
// the Stat.Version it was read at. The parent of rel must be recorded
// already; the children of rel, if it was recorded before, are kept.
func (t *Tree) setNode(rel string, data []byte, version int32) error {
	if err := validateRel(rel); err != nil {
		return err
	}
	n := t.nodes[rel]
	if n == nil {
		if rel != "" {
			parent, name := splitRel(rel)
			p := t.nodes[parent]
			if p == nil {
				return fmt.Errorf("zookeeper: config snapshot: parent of %q is not recorded", rel)
			}
			p.children[name] = true
		}
		n = &treeNode{children: make(map[string]bool)}
		t.nodes[rel] = n
	}
	n.data = slices.Clone(data)
	n.version = version
	return nil
}

// removeNode forgets the znode rel and everything below it. It does nothing
// when rel is not recorded.
func (t *Tree) removeNode(rel string) {
	n := t.nodes[rel]
	if n == nil {
		return
	}
	for name := range n.children {
		t.removeNode(childRel(rel, name))
	}
	delete(t.nodes, rel)
	if rel != "" {
		parent, name := splitRel(rel)
		delete(t.nodes[parent].children, name)
	}
}

// retainChildren brings the children of rel in line with names, the list a
// ZooKeeper GetChildren (or children watch) returned: it forgets the
// recorded children not in names, with their subtrees, and returns the names
// not recorded yet, sorted, for the caller to read and record with setNode.
// It returns nil when rel is not recorded.
func (t *Tree) retainChildren(rel string, names []string) []string {
	n := t.nodes[rel]
	if n == nil {
		return nil
	}
	keep := make(map[string]bool, len(names))
	for _, name := range names {
		keep[name] = true
	}
	for name := range n.children {
		if !keep[name] {
			t.removeNode(childRel(rel, name))
		}
	}
	var missing []string
	for name := range keep {
		if !n.children[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	return missing
}

// lookup returns the data (not a copy: do not modify it) and version
// recorded for rel, and whether rel is recorded.
func (t *Tree) lookup(rel string) (data []byte, version int32, ok bool) {
	n := t.nodes[rel]
	if n == nil {
		return nil, 0, false
	}
	return n.data, n.version, true
}

// children returns the names of the recorded children of rel, sorted.
func (t *Tree) children(rel string) []string {
	n := t.nodes[rel]
	if n == nil {
		return nil
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// clone returns a deep copy of t.
func (t *Tree) clone() *Tree {
	c := &Tree{nodes: make(map[string]*treeNode, len(t.nodes))}
	for rel, n := range t.nodes {
		kids := make(map[string]bool, len(n.children))
		for name := range n.children {
			kids[name] = true
		}
		c.nodes[rel] = &treeNode{data: slices.Clone(n.data), version: n.version, children: kids, err: n.err, acl: slices.Clone(n.acl)}
	}
	return c
}

// TreeOf returns the tree of an engine snapshot, with the ACLs it read.
// The data and ACLs are shared, not copied: neither holds them for
// writing.
func TreeOf(s *engine.TreeSnapshot) *Tree {
	t := &Tree{nodes: make(map[string]*treeNode, len(s.Nodes))}
	for rel, n := range s.Nodes {
		kids := make(map[string]bool, len(n.Children))
		for _, name := range n.Children {
			kids[name] = true
		}
		t.nodes[rel] = &treeNode{data: n.Data, version: n.Version, children: kids, err: n.Err, acl: n.ACL}
	}
	return t
}

// validateRel checks that rel is "" or made of "/"-prefixed, non-empty
// segments. It does not look at the segments' characters: a snapshot holds
// whatever ZooKeeper holds, and readers judge the names.
func validateRel(rel string) error {
	if rel == "" {
		return nil
	}
	if rel[0] != '/' || strings.HasSuffix(rel, "/") || strings.Contains(rel, "//") {
		return fmt.Errorf("zookeeper: config snapshot: bad relative path %q", rel)
	}
	return nil
}

// splitRel splits a non-empty rel into its parent and its last segment.
func splitRel(rel string) (parent, name string) {
	i := strings.LastIndexByte(rel, '/')
	return rel[:i], rel[i+1:]
}

// childRel is the rel of the child called name of the znode rel.
func childRel(rel, name string) string {
	return rel + "/" + name
}
