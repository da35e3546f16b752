package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"
)

// This file guards against squatted service directories. With
// credentials, the default ACLs let anyone create a service directory (the
// prefix grants world CREATE so that any identity can start a service),
// but only the directory's creator add or delete its nodes. Someone who
// creates a service's directory first, with an open ACL, could have the
// service's nodes placed inside, then add their own beside them (at their
// address) and delete the service's. So before writing a node into a
// directory it did not create, the owner checks the directory's ACL: every
// entry that lets an identity change the directory (write, create, delete,
// administer) must name the registry's own identities, or one that DirACL
// names; else Register refuses, unless OpenDirs accepts such directories.
//
// Whose identities are the registry's own? Those of its digest
// credentials can be computed. Others (a TLS client certificate's x509
// identity, SASL) are known only to the server, which resolves the
// creator ("auth") entries of the ACLs the registry writes; the owner
// learns them from the ACL of the first node it creates in a session. An
// entry it cannot judge before that is checked right after the node is
// created; a directory found foreign then has the node deleted again.

// dirChangePerms are the permissions on a directory that let an identity
// change which nodes it holds, or its ACL.
const dirChangePerms = zk.PermWrite | zk.PermCreate | zk.PermDelete | zk.PermAdmin

// dirError refuses a node in a directory that others may change.
type dirError struct {
	dir   string
	entry zk.ACL
	who   string // the registry's identity
}

func (e *dirError) Error() string {
	return fmt.Sprintf("service directory %s has ACL entry %s:%s:%s, which lets an identity other than %s add nodes beside this service's or delete them; "+
		"if the directory belongs to this service (written by the older plugin, or by other credentials of yours), set its ACL (zkCli, authenticated as this registry: setAcl %s auth::cdrwa,world:anyone:r), name that identity with the DirACL option, or accept such directories with OpenDirs(true) or %s=true; if it does not, delete it and register again",
		shortPath(e.dir), e.entry.Scheme, e.entry.ID, permString(e.entry.Perms), e.who, shortPath(e.dir), EnvOpenDirs)
}

// dirVerdict is what the owner concludes of a directory's ACL.
type dirVerdict int

const (
	dirOwn       dirVerdict = iota // only the registry's own identities, or DirACL's, may change it
	dirForeign                     // another identity may change it
	dirUndecided                   // an entry names an identity the registry cannot judge yet
)

// guardsDirs reports whether cfg asks for directory checks.
func guardsDirs(cfg Config) bool { return len(cfg.auth) > 0 && !cfg.openDirs }

// judgeDir judges a directory's ACL; self are the registry's identities
// learned from the server (nil if none yet). For dirForeign it returns the
// offending entry.
func judgeDir(cfg Config, acl []zk.ACL, self []zk.ACL) (dirVerdict, zk.ACL) {
	return judgeACL(cfg, acl, self, cfg.dirACL)
}

// judgeACL is the one check of who may change a znode, shared by the
// registry's directory guard and the Trees (the config source): every
// entry of acl that lets an identity change the znode (write, create,
// delete, administer) must name one of the client's own identities (its
// digest credentials, or self, those learned from the server), or one of
// allowed with no more permissions. For dirForeign it returns the
// offending entry. An entry of a scheme whose identities only the server
// knows (a certificate's x509) is dirUndecided while self is nil.
func judgeACL(cfg Config, acl []zk.ACL, self []zk.ACL, allowed []zk.ACL) (dirVerdict, zk.ACL) {
	verdict := dirOwn
	for _, a := range acl {
		if a.Perms&dirChangePerms == 0 || ownEntry(cfg, self, allowed, a) {
			continue
		}
		switch a.Scheme {
		case "world", "digest", "ip":
			return dirForeign, a // identities judged from the configuration alone
		}
		if self != nil {
			return dirForeign, a
		}
		verdict = dirUndecided
	}
	return verdict, zk.ACL{}
}

// ownEntry reports whether an ACL entry names one of the client's
// identities (ownIdentity), or is allowed (same identity, no more
// permissions).
func ownEntry(cfg Config, self []zk.ACL, allowed []zk.ACL, a zk.ACL) bool {
	if ownIdentity(cfg, self, a) {
		return true
	}
	for _, d := range allowed {
		if sameIdentity(d.Scheme, d.ID, a) && a.Perms&^d.Perms == 0 {
			return true
		}
	}
	return false
}

// ownIdentity reports whether an ACL entry names one of the registry's
// identities: its digest credentials, or those learned from the server.
func ownIdentity(cfg Config, self []zk.ACL, a zk.ACL) bool {
	for _, c := range cfg.auth {
		if id, ok := c.digestID(); ok && sameIdentity("digest", id, a) {
			return true
		}
	}
	for _, s := range self {
		if sameIdentity(s.Scheme, s.ID, a) {
			return true
		}
	}
	return false
}

// sameIdentity reports whether the identity scheme:id is the one entry a
// names. ZooKeeper hides the password hash of digest entries ("user:x")
// from clients without ADMIN on the znode, as a registry that DirACL lets
// only create in another identity's directory is; such an entry is matched
// by user name, the most the server lets a client see.
func sameIdentity(scheme, id string, a zk.ACL) bool {
	if scheme != a.Scheme {
		return false
	}
	if id == a.ID {
		return true
	}
	user, hash, _ := strings.Cut(a.ID, ":")
	return scheme == "digest" && hash == "x" && strings.HasPrefix(id, user+":")
}

// grantsCreate reports whether acl lets the registry create in the
// directory: through world, or one of its own identities (a certificate's
// identity not learned yet counts as one).
func grantsCreate(cfg Config, self []zk.ACL, acl []zk.ACL) bool {
	for _, a := range acl {
		if a.Perms&zk.PermCreate == 0 {
			continue
		}
		switch {
		case a.Scheme == "world":
			return true
		case a.Scheme == "digest" || a.Scheme == "ip" || self != nil:
			if ownIdentity(cfg, self, a) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// learnSelf records the registry's identities as the server resolved them
// in the ACL of node p, which it just created in session s: the entries
// that the configured node ACL does not spell out itself.
func (o *owner) learnSelf(ctx context.Context, s znodes, p string) ([]zk.ACL, error) {
	if self := o.selfIDs(s.id()); self != nil {
		return self, nil
	}
	acl, _, err := s.getACL(ctx, p)
	if err != nil {
		return nil, describe(s.config(), opRead, err, p)
	}
	self := []zk.ACL{}
	for _, a := range acl {
		if a.Scheme == "world" || slices.ContainsFunc(s.config().nodeACL, func(c zk.ACL) bool { return c.Scheme == a.Scheme && c.ID == a.ID }) {
			continue
		}
		self = append(self, a)
	}
	o.mu.Lock()
	o.self, o.selfSession = self, s.id()
	o.mu.Unlock()
	return self, nil
}

// selfIDs returns the identities learned in session sid, nil if none.
func (o *owner) selfIDs(sid int64) []zk.ACL {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.selfSession != sid {
		return nil
	}
	return o.self
}

// checkDirBefore judges node n's service directory before the node is
// written there. It returns whether the directory must be checked again
// once the node exists (it is missing, or undecided), or a dirError.
func (o *owner) checkDirBefore(ctx context.Context, s znodes, n *ownedNode) (recheck bool, err error) {
	cfg := s.config()
	dir := o.layout(cfg).dirPath(n.ref.dir)
	acl, _, err := s.getACL(ctx, dir)
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return true, nil // created by us (then ours) or by someone else (checked after)
	case err != nil:
		return false, describe(cfg, opRead, err, dir)
	}
	self := o.selfIDs(s.id())
	switch v, bad := judgeDir(cfg, acl, self); v {
	case dirForeign:
		if !grantsCreate(cfg, self, acl) {
			// ZooKeeper refuses the write itself, with a precise answer.
			return false, nil
		}
		return false, &dirError{dir: dir, entry: bad, who: cfg.identity()}
	case dirUndecided:
		return true, nil
	}
	return false, nil
}

// checkDirAfter judges node n's service directory once the node, at p,
// exists: the directory cannot be replaced while it holds the node, so
// the answer stays true. A foreign directory has the node deleted again.
func (o *owner) checkDirAfter(ctx context.Context, s znodes, n *ownedNode, p string) error {
	cfg := s.config()
	self, err := o.learnSelf(ctx, s, p)
	if err != nil {
		return err
	}
	dir := o.layout(cfg).dirPath(n.ref.dir)
	acl, _, err := s.getACL(ctx, dir)
	if err != nil {
		return describe(cfg, opRead, err, dir)
	}
	v, bad := judgeDir(cfg, acl, self)
	if v == dirOwn {
		return nil
	}
	refusal := &dirError{dir: dir, entry: bad, who: cfg.identity()}
	// At the version just written: one changed since is not ours to delete.
	if err := s.delete(ctx, p, 0); err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
		return fmt.Errorf("%w (and deleting %s again failed: %v)", refusal, shortPath(p), err)
	}
	return refusal
}

// permString spells permissions as zkCli does: "cdrwa".
func permString(p int32) string {
	var b strings.Builder
	for _, x := range []struct {
		bit  int32
		name byte
	}{{zk.PermCreate, 'c'}, {zk.PermDelete, 'd'}, {zk.PermRead, 'r'}, {zk.PermWrite, 'w'}, {zk.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b.WriteByte(x.name)
		}
	}
	return b.String()
}
