package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Client is one ZooKeeper connection kept with its session: a process
// holds one, however many faces it uses. A Registry and any number of
// Trees are built on it and share its session, its connection, its
// heartbeat and its keeper, as etcd's concurrency sessions and endpoint
// managers share one clientv3.Client.
//
// The client dials on first use, runs the session keeper, replaces the
// connection when Init changes how to reach ZooKeeper, and tells
// everything attached to it what happens to the session. Its goroutine
// group owns the keeper and, through child groups, the goroutines of what
// is built on it; Close stops them all and waits for them.
//
// All methods may be called concurrently.
type Client struct {
	events *eventQueue
	group  *group
	counts *counters

	mu        sync.Mutex // guards the fields below
	cfg       Config
	cfgErr    error // invalid options: returned by every call until a valid Init
	conn      *conn // nil until first needed, and after close
	gen       uint64
	started   bool // the keeper is running
	closed    bool
	listeners []sessionListener // replaced, never modified: the keeper reads a snapshot
}

// NewClient returns a client for o. It never fails, blocks or dials: the
// connection is made on first use. Invalid options are returned by every
// call until Init is given valid ones.
func NewClient(o Options) *Client {
	c := &Client{events: newEventQueue(), group: newGroup(), counts: &counters{}}
	c.cfg, c.cfgErr = newConfig(o)
	return c
}

// Session is a connection with an established session, and the
// configuration it was made with.
type Session struct {
	conn *conn
	cfg  Config
}

// ID returns the id of the session now established on the connection, 0
// while there is none.
func (s *Session) ID() int64 { return s.conn.sessionID() }

// NegotiatedTimeout returns the session timeout the server granted (it
// clamps the one asked for to its bounds), 0 before the first handshake.
func (s *Session) NegotiatedTimeout() time.Duration { return s.conn.granted.timeout() }

// Server returns the address of the server the connection is using, ""
// while disconnected.
func (s *Session) Server() string { return s.conn.zk.Server() }

// Config returns the configuration the connection was made with.
func (s *Session) Config() Config { return s.cfg }

// Config returns the configuration in use, or why there is none. Errors
// are prefixed "zookeeper: ".
func (c *Client) Config() (Config, error) {
	cfg, err := c.config()
	if err != nil {
		return cfg, fmt.Errorf("zookeeper: %w", err)
	}
	return cfg, nil
}

// SessionID returns the id of the current session, 0 if none.
func (c *Client) SessionID() int64 { return c.sessionID() }

// Close ends the client: its session is closed (ZooKeeper deletes its
// ephemeral znodes at once), everything built on it stops and fails its
// calls with ErrClosed, and every goroutine has exited when Close returns.
// It is idempotent and safe to call concurrently. A Registry closes its
// client itself (Registry.Close): call this for a client built with
// NewClient.
func (c *Client) Close() error {
	if conn := c.shutdown(); conn != nil {
		conn.close()
	}
	c.wait()
	return nil
}

// config returns the configuration in use, or why there is none.
func (c *Client) config() (Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg, c.cfgErr
}

// logger returns the logger in use (a Config always has one, invalid
// options included).
func (c *Client) logger() Logger {
	cfg, _ := c.config()
	return cfg.logger
}

// current returns the connection in use, if any, and its configuration.
func (c *Client) current() (*conn, Config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn, c.cfg
}

// sessionID returns the id of the current session, 0 if none.
func (c *Client) sessionID() int64 {
	conn, _ := c.current()
	if conn == nil {
		return 0
	}
	return conn.sessionID()
}

// connected reports whether a session is established and its connection
// up.
func (c *Client) connected() bool {
	conn, _ := c.current()
	return conn != nil && conn.isReady()
}

// attach makes l hear about the session from now on, until detach: when
// the keeper runs already, l is first told whether the session is
// connected. It is refused (false) once the client is closed.
func (c *Client) attach(l sessionListener) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.listeners = append(slices.Clip(c.listeners), l)
	if c.started {
		c.events.pushAttached(l)
	}
	return true
}

// detach stops telling l about the session.
func (c *Client) detach(l sessionListener) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = slices.DeleteFunc(slices.Clone(c.listeners), func(x sessionListener) bool { return x == l })
}

// attached returns the listeners, for the keeper.
func (c *Client) attached() []sessionListener {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listeners
}

// init applies new options. Invalid options change nothing and are
// returned. When the options change how to reach ZooKeeper, the current
// connection is closed (ending its session) and, if something attached
// needs a session now, a new one is dialled at once.
func (c *Client) init(o Options) error {
	cfg, err := newConfig(o)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	var old *conn
	if c.cfgErr != nil || !c.cfg.sameSession(cfg) {
		old, c.conn = c.conn, nil
	}
	c.cfg, c.cfgErr = cfg, nil
	listeners := c.listeners
	c.mu.Unlock()
	if old == nil {
		return nil
	}
	old.close()
	if !slices.ContainsFunc(listeners, sessionListener.needsSession) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil && !c.closed {
		c.conn, err = c.dialLocked()
	}
	return err
}

// session returns the session to use, connecting on first use, once it is
// established.
func (c *Client) session(ctx context.Context) (*Session, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if c.cfgErr != nil {
		err := c.cfgErr
		c.mu.Unlock()
		return nil, err
	}
	var err error
	if c.conn == nil {
		c.conn, err = c.dialLocked()
	}
	s := &Session{conn: c.conn, cfg: c.cfg}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := s.conn.waitReady(ctx); err != nil {
		if c.group.stopping() {
			return nil, ErrClosed
		}
		return nil, err
	}
	return s, nil
}

// dialLocked opens a connection and, the first time, starts the keeper.
// c.mu must be held.
func (c *Client) dialLocked() (*conn, error) {
	conn, err := dial(c.cfg, c.gen+1, c.events)
	if err != nil {
		return nil, err
	}
	c.gen++
	if !c.started {
		c.started = true
		k := &keeper{events: c.events, current: c.current, listeners: c.attached, counts: c.counts, ctx: c.group.ctx}
		c.group.Go(k.run)
	}
	return conn, nil
}

// opContext returns a context for one operation, bounded by timeout (the
// configured one when 0) and ended by close.
func (c *Client) opContext(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	if timeout <= 0 {
		cfg, _ := c.config()
		timeout = cfg.timeout
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	stop := context.AfterFunc(c.group.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// shutdown marks the client closed, stops its goroutine group (no new
// goroutine starts; those running are told to stop) and returns the
// connection for the caller to close once it stopped what feeds on it;
// then wait.
func (c *Client) shutdown() *conn {
	c.mu.Lock()
	c.closed = true
	conn := c.conn
	c.conn = nil
	c.mu.Unlock()
	c.group.stop()
	return conn
}

// wait waits for every goroutine of the client's group and its children.
func (c *Client) wait() { c.group.wait() }
