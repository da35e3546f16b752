package configdoc

import (
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// testACL is the ACL the tests give new znodes.
var testACL = ACLs{New: zk.WorldACL(zk.PermAll)}

// applyMulti applies ops to a copy of snap as a ZooKeeper server applies one
// multi request to the subtree under prefix: in order, all or nothing, with
// the server's checks (a create needs its parent and a free path, a set or
// delete needs the node at the given version, a delete needs no children).
// A new znode has version 0; a set increments the version. The parent of the
// prefix znode is taken to exist.
func applyMulti(snap *Tree, prefix string, ops []any) (*Tree, error) {
	t := snap.clone()
	for i, op := range ops {
		if err := applyOp(t, prefix, op); err != nil {
			return nil, fmt.Errorf("op %d (%s): %w", i, describeOp(op), err)
		}
	}
	return t, nil
}

// applyOp applies one operation of applyMulti to t.
func applyOp(t *Tree, prefix string, op any) error {
	rel, err := relOf(prefix, opPath(op))
	if err != nil {
		return err
	}
	n := t.nodes[rel]
	switch op := op.(type) {
	case *zk.CreateRequest:
		switch {
		case n != nil:
			return zk.ErrNodeExists
		case len(op.Acl) == 0:
			return zk.ErrInvalidACL
		case op.Flags != zk.FlagPersistent:
			return fmt.Errorf("unexpected flags %d", op.Flags)
		case op.Data == nil:
			return fmt.Errorf("null data")
		}
		if rel != "" {
			parent, name := splitRel(rel)
			if t.nodes[parent] == nil {
				return zk.ErrNoNode
			}
			if err := zktest.ValidSegment(name); err != nil {
				return fmt.Errorf("%w: %v", zk.ErrInvalidPath, err)
			}
		}
		return t.setNode(rel, op.Data, 0)
	case *zk.SetDataRequest:
		switch {
		case n == nil:
			return zk.ErrNoNode
		case op.Version != -1 && op.Version != n.version:
			return zk.ErrBadVersion
		case op.Data == nil:
			return fmt.Errorf("null data")
		}
		return t.setNode(rel, op.Data, n.version+1)
	case *zk.DeleteRequest:
		switch {
		case n == nil:
			return zk.ErrNoNode
		case op.Version != -1 && op.Version != n.version:
			return zk.ErrBadVersion
		case len(n.children) > 0:
			return zk.ErrNotEmpty
		}
		t.removeNode(rel)
		return nil
	}
	return fmt.Errorf("unknown operation %T", op)
}

// relOf is the path in a tree of the znode path under prefix.
func relOf(prefix, path string) (string, error) {
	if path != prefix && !strings.HasPrefix(path, prefix+"/") {
		return "", fmt.Errorf("%q is not under %q", path, prefix)
	}
	return path[len(prefix):], nil
}

// opPath is the znode path op concerns.
func opPath(op any) string {
	switch op := op.(type) {
	case *zk.CreateRequest:
		return op.Path
	case *zk.SetDataRequest:
		return op.Path
	case *zk.DeleteRequest:
		return op.Path
	}
	return ""
}

// describeOp renders op for comparisons and messages:
// "create /p/a 1", "set /p/a v3 1", "delete /p/a v3".
func describeOp(op any) string {
	switch op := op.(type) {
	case *zk.CreateRequest:
		return fmt.Sprintf("create %s %s", op.Path, op.Data)
	case *zk.SetDataRequest:
		return fmt.Sprintf("set %s v%d %s", op.Path, op.Version, op.Data)
	case *zk.DeleteRequest:
		return fmt.Sprintf("delete %s v%d", op.Path, op.Version)
	}
	return fmt.Sprintf("%T", op)
}

// describeOps renders ops with describeOp; nil when there are none.
func describeOps(ops []any) []string {
	if len(ops) == 0 {
		return nil
	}
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = describeOp(op)
	}
	return out
}
