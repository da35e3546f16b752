package configdoc

import (
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
)

// This file says which ACL the znodes a plan creates get. ZooKeeper checks
// READ on the znode read, never on its parents: a key created below a
// private object with a wider ACL could be read by path by anyone that ACL
// lets read it. So a key created below an existing znode takes that
// znode's ACL (inheritACL), whoever writes it (a source without Private,
// zkmicro config set, SetKey), and nothing a plan creates ever lets
// anyone read what they could not read before.

// ACLs are the ACLs of the znodes a plan creates.
type ACLs struct {
	// New is the ACL of the prefix znode when a plan creates it, and of a
	// key whose parent's ACL is unknown: a client without credentials
	// reads no ACL (engine.TreeNode.ACL is then nil). It must not be
	// empty.
	New []zk.ACL
	// Private gives every znode a plan creates New, which must then be
	// creator-only (zkconfig's Private), instead of its parent's ACL:
	// never wider than the parent, which this client reads.
	Private bool
}

// newACL returns the ACL of the znode rel that the plan creates: New for
// the prefix znode and for Private; else the ACL of its parent, as
// created by the plan, or as the snapshot shows it (inheritACL), or New
// when the snapshot has no ACL (a client without credentials). Below a
// znode this client cannot read, whose ACL is unknown, nothing is created.
func (p *planner) newACL(rel string) ([]zk.ACL, error) {
	if rel == "" || p.acls.Private {
		return p.acls.New, nil
	}
	parent, _ := splitRel(rel)
	if acl, ok := p.created[parent]; ok {
		return acl, nil
	}
	switch n := p.snap.nodes[parent]; {
	case n != nil && n.err != nil:
		return nil, fmt.Errorf("zookeeper: config write: cannot create %s: its parent is not readable to this client (%v), so the ACL the new key would take from it is unknown", znodePath(p.prefix, rel), n.err)
	case n == nil || n.acl == nil:
		return p.acls.New, nil
	default:
		return inheritACL(n.acl), nil
	}
}

// inheritACL returns the ACL of a znode created below one whose ACL, as
// the server shows it to this client, is parent: the same entries, which
// name resolved identities (digest:user:hash, world:anyone, ip:addr...)
// that a create may name as they are.
//
// A digest entry whose password hash the server hides (user:x, what a
// client without ADMIN on the znode is shown) names nobody a create can
// name: such entries are left out, and the writer's own identities
// (ZooKeeper's auth scheme) get their permissions, ADMIN excepted, in
// their place. Nobody may then read the new znode who may not read its
// parent, but the writer, which does (it read the parent to plan); the
// identities only hidden entries named lose access to the new znode until
// someone who administers it sets its ACL.
func inheritACL(parent []zk.ACL) []zk.ACL {
	acl := make([]zk.ACL, 0, len(parent)+1)
	var hidden int32
	for _, a := range parent {
		if isHiddenDigest(a) {
			hidden |= a.Perms
			continue
		}
		acl = append(acl, a)
	}
	if perms := hidden &^ zk.PermAdmin; perms != 0 {
		acl = append(acl, zk.ACL{Perms: perms, Scheme: "auth"})
	}
	if len(acl) == 0 {
		// Only hidden entries, with ADMIN alone: ZooKeeper refuses the
		// create (nobody this client is may create), but not for an
		// empty ACL.
		acl = append(acl, zk.ACL{Perms: zk.PermRead, Scheme: "auth"})
	}
	return acl
}

// isHiddenDigest reports whether a is a digest entry whose password hash
// the server hid: "user:x" (ZooKeeper replaces everything after the first
// colon).
func isHiddenDigest(a zk.ACL) bool {
	user, hash, ok := strings.Cut(a.ID, ":")
	return a.Scheme == "digest" && ok && user != "" && hash == "x"
}
