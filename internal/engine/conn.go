package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"
)

// conn is one ZooKeeper connection (a zk.Conn). It holds a series of
// sessions: after an expiry zk establishes a new one by itself, and the
// keeper notices. Calls on it are tracked so that close can wait for them.
type conn struct {
	zk      *zk.Conn
	gen     uint64   // which connection of its Client this is
	servers []string // for error messages
	sem     chan struct{}

	authed bool // credentials were sent on this connection; keeper only

	connErr    *connError         // why connecting last failed, for waitReady
	granted    *negotiated        // the session timeout the server granted
	cancelDial context.CancelFunc // interrupts a dial or TLS handshake in progress

	mu      sync.Mutex    // guards the fields below
	ready   chan struct{} // closed while a session is established and authenticated
	sid     int64         // id of the session the keeper last saw established
	closing bool

	done chan struct{} // closed when zk's connection loop has ended
	wg   sync.WaitGroup
}

// dial opens a connection for cfg. It does not wait for it: zk connects in
// the background and the keeper learns of it through events.
func dial(cfg Config, gen uint64, events *eventQueue) (*conn, error) {
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	dialCtx, cancelDial := context.WithCancel(context.Background())
	connErr, granted := &connError{}, &negotiated{}
	zc, evc, err := zk.Connect(cfg.servers, cfg.sessionTimeout,
		zk.WithLogger(zkLogger{cfg.logger}),
		zk.WithEventCallback(func(e zk.Event) { events.push(gen, e) }),
		zk.WithDialer(newDialer(dialCtx, tlsCfg, attemptBound(cfg.timeout, len(cfg.servers)), connErr, granted)),
	)
	if err != nil {
		cancelDial()
		return nil, fmt.Errorf("connect to %s: %w", strings.Join(cfg.servers, ","), err)
	}
	c := &conn{
		zk:         zc,
		gen:        gen,
		servers:    cfg.servers,
		connErr:    connErr,
		granted:    granted,
		cancelDial: cancelDial,
		sem:        make(chan struct{}, cfg.readConcurrency),
		ready:      make(chan struct{}),
		done:       make(chan struct{}),
	}
	// zk also sends every event the callback sees to evc, dropping them
	// when it is full. Drain it until zk closes it, which tells close that
	// zk's loop is over.
	go func() {
		defer close(c.done)
		for range evc {
		}
	}()
	return c, nil
}

// close ends the connection (and with it the session and its ephemeral
// nodes) and waits for every call goroutine. It is idempotent.
func (c *conn) close() {
	c.mu.Lock()
	already := c.closing
	c.closing = true
	c.mu.Unlock()
	if !already {
		c.cancelDial()
		c.zk.Close()
	}
	<-c.done
	c.wg.Wait()
}

// track registers a call goroutine; false once the connection is closing.
func (c *conn) track() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.wg.Add(1)
	return true
}

// setReady records whether the connection can serve calls.
func (c *conn) setReady(ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.ready:
		if !ok {
			c.ready = make(chan struct{})
		}
	default:
		if ok {
			close(c.ready)
		}
	}
	if ok {
		c.connErr.set(nil)
	}
}

func (c *conn) readyChan() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

func (c *conn) isReady() bool {
	select {
	case <-c.readyChan():
		return true
	default:
		return false
	}
}

// waitReady waits until the connection can serve calls.
func (c *conn) waitReady(ctx context.Context) error {
	select {
	case <-c.readyChan():
		return nil
	default:
	}
	select {
	case <-c.readyChan():
		return nil
	case <-c.done:
		return errConnReplaced
	case <-ctx.Done():
		if last := c.connErr.get(); last != nil {
			return fmt.Errorf("no session with %s (state %s; last connection error: %w): %w", strings.Join(c.servers, ","), c.zk.State(), last, ctx.Err())
		}
		return fmt.Errorf("no session with %s (state %s): %w", strings.Join(c.servers, ","), c.zk.State(), ctx.Err())
	}
}

// sessionID is the id of the session currently established, 0 if none.
func (c *conn) sessionID() int64 { return c.zk.SessionID() }

// keeperSID swaps the session id the keeper last saw for sid and returns
// the previous one.
func (c *conn) keeperSID(sid int64) (prev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, c.sid = c.sid, sid
	return prev
}

// call runs op on c's connection and returns its result, or ctx's error
// when ctx ends first. zk calls cannot be cancelled: op's goroutine finishes
// when ZooKeeper answers or the connection is closed, and close waits for
// it.
func call[T any](ctx context.Context, c *conn, op func(*zk.Conn) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if !c.track() {
		return zero, errConnReplaced
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer c.wg.Done()
		v, err := op(c.zk)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// zkLogger routes go-zookeeper's own log lines to the engine's logger, at
// debug level: the keeper logs what matters about the connection itself.
type zkLogger struct{ l Logger }

func (z zkLogger) Printf(format string, args ...any) {
	z.l.Logf(LevelDebug, "zookeeper: zk: "+format, args...)
}
