package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-zookeeper/zk"
)

// This file holds the fan-out readers: many znodes read at once over one
// connection, at most cap(conn.sem) calls in flight.

// znode is the result of reading one znode.
type znode struct {
	data []byte
	stat *zk.Stat
	err  error
}

// readAll reads the znodes at paths concurrently on c, for calls bounded
// by ctx (the mirror's workers use readWatched). The i-th result belongs to
// paths[i].
func (c *conn) readAll(ctx context.Context, paths []string) ([]znode, error) {
	out := make([]znode, len(paths))
	err := c.each(ctx, len(paths), func(z *zk.Conn, i int) {
		r := &out[i]
		r.data, r.stat, r.err = z.Get(paths[i])
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// each calls fn for i in [0, n) on c's connection from several goroutines,
// keeping at most cap(c.sem) calls in flight over the whole connection, and
// waits for all of them. It returns ctx's error if ctx ends first; the
// caller must then not read what fn writes.
func (c *conn) each(ctx context.Context, n int, fn func(z *zk.Conn, i int)) error {
	if n == 0 {
		return ctx.Err()
	}
	workers := min(n, cap(c.sem))
	var next atomic.Int64
	var running atomic.Int32
	running.Store(int32(workers))
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		if !c.track() {
			return errConnReplaced // workers already started end on their own
		}
		go func() {
			defer c.wg.Done()
			defer func() {
				if running.Add(-1) == 0 {
					close(done)
				}
			}()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				select {
				case c.sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				fn(c.zk, i)
				<-c.sem
			}
		}()
	}
	select {
	case <-done:
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// listChildren lists the children of p and leaves a watch that fires when
// they change or when p is created or deleted. A missing p has no children.
//
// It is for the mirror's workers and calls zk on the caller's goroutine: a
// zk call cannot be cancelled, but zk fails it when the connection is lost
// or closed (Close closes it before waiting for the workers), which bounds
// it; going through call would add two goroutine hand-offs to the latency
// of every watch event. ctx is checked before each call.
func (c *conn) listChildren(ctx context.Context, p string) ([]string, error) {
	for attempt := 0; attempt < 3; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		children, _, _, err := c.zk.ChildrenW(p)
		if !errors.Is(err, zk.ErrNoNode) {
			return children, err
		}
		exists, _, _, err := c.zk.ExistsW(p)
		if err != nil || !exists {
			return nil, err
		}
		// Created between the two calls: list again.
	}
	return nil, fmt.Errorf("%s keeps being created and deleted", shortPath(p))
}

// readWatched reads the znodes at paths and sets a data watch on each, for
// the mirror's workers. The caller's goroutine is one of the readers (see
// listChildren): a single read, the usual case after a watch event, needs
// no other goroutine, and more share cap(c.sem) reads in flight with the
// rest of the connection. The i-th result belongs to paths[i].
func (c *conn) readWatched(ctx context.Context, paths []string) ([]znode, error) {
	out := make([]znode, len(paths))
	var next atomic.Int64
	read := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(paths) || ctx.Err() != nil {
				return
			}
			select {
			case c.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			r := &out[i]
			r.data, r.stat, _, r.err = c.zk.GetW(paths[i])
			<-c.sem
		}
	}
	var helpers sync.WaitGroup
	for h := 1; h < min(len(paths), cap(c.sem)); h++ {
		if !c.track() {
			break // closing: zk fails the caller's reads at once
		}
		helpers.Add(1)
		go func() {
			defer c.wg.Done()
			defer helpers.Done()
			read()
		}()
	}
	read()
	helpers.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
