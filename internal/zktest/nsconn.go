package zktest

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// NamespaceConn is a plain zk connection to a namespace, for a test to
// change and inspect ZooKeeper behind the back of the code under test. It
// takes and returns paths as that code sees them through Namespace.Addr
// (go-zookeeper has no chroot of its own). It has the calls tests make;
// Raw is the connection itself, whose paths start with Root.
type NamespaceConn struct {
	Raw *zk.Conn
	ns  *Namespace
}

// Connect returns a plain zk connection to n, presenting each digest
// credential ("user:password"), closed when t ends.
func (n *Namespace) Connect(t TB, digest ...string) *NamespaceConn {
	t.Helper()
	c, _, err := zk.Connect([]string{n.ServerAddr}, 30*time.Second, zk.WithLogger(quietZK{}))
	if err != nil {
		t.Fatalf("zktest: connect to %s: %v", n.ServerAddr, err)
	}
	t.Cleanup(c.Close)
	for _, d := range digest {
		if err := c.AddAuth("digest", []byte(d)); err != nil {
			t.Fatalf("zktest: credentials for %s: %v", n.ServerAddr, err)
		}
	}
	return &NamespaceConn{Raw: c, ns: n}
}

// rel is p on the server as the namespace's code sees it.
func (c *NamespaceConn) rel(p string) string {
	if p == c.ns.Root {
		return "/"
	}
	return strings.TrimPrefix(p, c.ns.Root)
}

// Create is zk's Create in the namespace.
func (c *NamespaceConn) Create(p string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	created, err := c.Raw.Create(c.ns.Path(p), data, flags, acl)
	if err != nil {
		return "", err
	}
	return c.rel(created), nil
}

// Set is zk's Set in the namespace.
func (c *NamespaceConn) Set(p string, data []byte, version int32) (*zk.Stat, error) {
	return c.Raw.Set(c.ns.Path(p), data, version)
}

// Get is zk's Get in the namespace.
func (c *NamespaceConn) Get(p string) ([]byte, *zk.Stat, error) { return c.Raw.Get(c.ns.Path(p)) }

// Delete is zk's Delete in the namespace.
func (c *NamespaceConn) Delete(p string, version int32) error {
	return c.Raw.Delete(c.ns.Path(p), version)
}

// Exists is zk's Exists in the namespace.
func (c *NamespaceConn) Exists(p string) (bool, *zk.Stat, error) {
	return c.Raw.Exists(c.ns.Path(p))
}

// Children is zk's Children in the namespace.
func (c *NamespaceConn) Children(p string) ([]string, *zk.Stat, error) {
	return c.Raw.Children(c.ns.Path(p))
}

// GetACL is zk's GetACL in the namespace.
func (c *NamespaceConn) GetACL(p string) ([]zk.ACL, *zk.Stat, error) {
	return c.Raw.GetACL(c.ns.Path(p))
}

// Multi is zk's Multi in the namespace, of *zk.CreateRequest,
// *zk.SetDataRequest, *zk.DeleteRequest and *zk.CheckVersionRequest.
func (c *NamespaceConn) Multi(ops ...any) ([]zk.MultiResponse, error) {
	moved := make([]any, len(ops))
	for i, op := range ops {
		switch op := op.(type) {
		case *zk.CreateRequest:
			r := *op
			r.Path = c.ns.Path(r.Path)
			moved[i] = &r
		case *zk.SetDataRequest:
			r := *op
			r.Path = c.ns.Path(r.Path)
			moved[i] = &r
		case *zk.DeleteRequest:
			r := *op
			r.Path = c.ns.Path(r.Path)
			moved[i] = &r
		case *zk.CheckVersionRequest:
			r := *op
			r.Path = c.ns.Path(r.Path)
			moved[i] = &r
		default:
			return nil, fmt.Errorf("zktest: Multi of %T in a namespace", op)
		}
	}
	res, err := c.Raw.Multi(moved...)
	for i := range res {
		if res[i].String != "" {
			res[i].String = c.rel(res[i].String)
		}
	}
	return res, err
}
