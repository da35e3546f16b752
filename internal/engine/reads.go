package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/go-zookeeper/zk"
)

// This file holds the one fan-out reader: many znodes read at once over
// one connection, at most cap(conn.sem) calls in flight over the whole
// connection. The watch-fed caches (the mirror's and the Trees' workers)
// read with watches; lookups that do not use the mirror, and diagnostics,
// read without.

// readItem is one znode to read: its data (Get, or GetW: a data watch),
// its children (Children, or ChildrenW: a children watch; with watches,
// when it is missing and awaitCreate is set, ExistsW, which fires when it
// is created), its ACL (GetACL), or several of them.
type readItem struct {
	path        string
	need        need // needData, needList, needACL or several
	awaitCreate bool
}

// readResult is what was read of one readItem.
type readResult struct {
	data     []byte
	stat     *zk.Stat
	dataErr  error
	children []string
	listErr  error
	created  bool // missing when listed, present when its exists watch was set
	acl      []zk.ACL
	aclErr   error
}

// readOptions say how conn.read reads.
type readOptions struct {
	// watch leaves the watches (GetW, ChildrenW, ExistsW).
	watch bool
	// reads, if not nil, counts the calls made.
	reads *atomic.Uint64
	// detached runs every call on a tracked goroutine and returns as soon
	// as ctx ends, leaving the calls in flight to finish by themselves (zk
	// calls cannot be cancelled; they end when ZooKeeper answers or the
	// connection closes, and close waits for them): for callers that a
	// deadline bounds (lookups). Otherwise the caller's goroutine is one
	// of the readers and read returns once every call made has returned,
	// so that one read (a worker's usual case after a watch event) needs
	// no other goroutine.
	detached bool
}

// read reads items as o says. The i-th result belongs to items[i]; ctx is
// checked before each call, and its error is returned if it ended (the
// results are then not returned).
func (c *conn) read(ctx context.Context, items []readItem, o readOptions) ([]readResult, error) {
	type job struct {
		i    int
		what need // one of needData, needList, needACL
	}
	jobs := make([]job, 0, len(items))
	for i, it := range items {
		for _, what := range []need{needData, needList, needACL} {
			if it.need&what != 0 {
				jobs = append(jobs, job{i, what})
			}
		}
	}
	out := make([]readResult, len(items))
	count := func() {
		if o.reads != nil {
			o.reads.Add(1)
		}
	}
	do := func(j job) {
		r, p := &out[j.i], items[j.i].path
		switch {
		case j.what == needACL:
			r.acl, _, r.aclErr = c.zk.GetACL(p)
		case j.what == needData && o.watch:
			r.data, r.stat, _, r.dataErr = c.zk.GetW(p)
		case j.what == needData:
			r.data, r.stat, r.dataErr = c.zk.Get(p)
		case o.watch:
			r.children, _, _, r.listErr = c.zk.ChildrenW(p)
		default:
			r.children, _, r.listErr = c.zk.Children(p)
		}
		count()
		if j.what == needList && o.watch && items[j.i].awaitCreate && errors.Is(r.listErr, zk.ErrNoNode) {
			exists, _, _, err := c.zk.ExistsW(p)
			count()
			switch {
			case err != nil:
				r.listErr = err
			case exists:
				r.created = true
			}
		}
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(jobs) || ctx.Err() != nil {
				return
			}
			select {
			case c.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			do(jobs[i])
			<-c.sem
		}
	}
	helpers := min(len(jobs), cap(c.sem))
	if !o.detached {
		helpers-- // the caller is one
	}
	// The last helper to end closes done; wg is what an attached caller
	// waits on.
	var wg sync.WaitGroup
	var running atomic.Int32
	done := make(chan struct{})
	running.Store(int32(max(helpers, 0)))
	if helpers <= 0 {
		close(done)
	}
	for h := 0; h < helpers; h++ {
		if !c.track() {
			if o.detached {
				return nil, errConnReplaced // the helpers already started end by themselves
			}
			break // closing: zk fails the caller's reads at once
		}
		wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer wg.Done()
			defer func() {
				if running.Add(-1) == 0 {
					close(done)
				}
			}()
			work()
		}()
	}
	if o.detached {
		select {
		case <-done:
		case <-ctx.Done():
		}
	} else {
		work()
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
