package engine

import (
	"context"

	"github.com/go-zookeeper/zk"
)

// znodes is what the owner needs of a session: the calls on the znodes it
// keeps, each bounded by its context, the session's id and the
// configuration it was made with. *Session implements it over ZooKeeper;
// the owner's unit tests use an in-memory fake.
type znodes interface {
	id() int64
	config() Config
	// create creates p; flags are zk.FlagEphemeral, zk.FlagPersistent or
	// zk.FlagContainer (persistent on servers without containers).
	create(ctx context.Context, p string, data []byte, flags int32, acl []zk.ACL) error
	// get reads p and, with watch, leaves a data watch on it.
	get(ctx context.Context, p string, watch bool) ([]byte, *zk.Stat, error)
	set(ctx context.Context, p string, data []byte, version int32) error
	// replace deletes p at version and creates an ephemeral p with data in
	// one transaction.
	replace(ctx context.Context, p string, data []byte, version int32, acl []zk.ACL) error
	// exists returns p's stat, or zk.ErrNoNode.
	exists(ctx context.Context, p string) (*zk.Stat, error)
	delete(ctx context.Context, p string, version int32) error
	getACL(ctx context.Context, p string) ([]zk.ACL, *zk.Stat, error)
}

var _ znodes = (*Session)(nil)

func (s *Session) id() int64      { return s.conn.sessionID() }
func (s *Session) config() Config { return s.cfg }

func (s *Session) create(ctx context.Context, p string, data []byte, flags int32, acl []zk.ACL) error {
	_, err := call(ctx, s.conn, func(c *zk.Conn) (string, error) {
		if flags == zk.FlagContainer {
			created, err := c.CreateContainer(p, data, zk.FlagContainer, acl)
			if isUnimplemented(err) {
				// Before ZooKeeper 3.6: no containers.
				return c.Create(p, data, zk.FlagPersistent, acl)
			}
			return created, err
		}
		return c.Create(p, data, flags, acl)
	})
	return err
}

func (s *Session) get(ctx context.Context, p string, watch bool) ([]byte, *zk.Stat, error) {
	type got struct {
		data []byte
		stat *zk.Stat
	}
	g, err := call(ctx, s.conn, func(c *zk.Conn) (got, error) {
		if watch {
			d, st, _, err := c.GetW(p)
			return got{d, st}, err
		}
		d, st, err := c.Get(p)
		return got{d, st}, err
	})
	return g.data, g.stat, err
}

func (s *Session) set(ctx context.Context, p string, data []byte, version int32) error {
	_, err := call(ctx, s.conn, func(c *zk.Conn) (*zk.Stat, error) {
		return c.Set(p, data, version)
	})
	return err
}

func (s *Session) replace(ctx context.Context, p string, data []byte, version int32, acl []zk.ACL) error {
	res, err := call(ctx, s.conn, func(c *zk.Conn) ([]zk.MultiResponse, error) {
		return c.Multi(
			&zk.DeleteRequest{Path: p, Version: version},
			&zk.CreateRequest{Path: p, Data: data, Acl: acl, Flags: zk.FlagEphemeral},
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

func (s *Session) exists(ctx context.Context, p string) (*zk.Stat, error) {
	return call(ctx, s.conn, func(c *zk.Conn) (*zk.Stat, error) {
		ok, st, err := c.Exists(p)
		if err == nil && !ok {
			return nil, zk.ErrNoNode
		}
		return st, err
	})
}

func (s *Session) delete(ctx context.Context, p string, version int32) error {
	_, err := call(ctx, s.conn, func(c *zk.Conn) (struct{}, error) {
		return struct{}{}, c.Delete(p, version)
	})
	return err
}

func (s *Session) getACL(ctx context.Context, p string) ([]zk.ACL, *zk.Stat, error) {
	type got struct {
		acl  []zk.ACL
		stat *zk.Stat
	}
	g, err := call(ctx, s.conn, func(c *zk.Conn) (got, error) {
		acl, st, err := c.GetACL(p)
		return got{acl, st}, err
	})
	return g.acl, g.stat, err
}
