package engine

import (
	"context"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Client is a connection to ZooKeeper kept with its session: it dials on
// first use, runs the session keeper, replaces the connection when Init
// changes how to reach ZooKeeper, and owns the goroutines of what is built
// on it (a Registry, a Tree). It tells one sessionListener what happens to
// the session.
type Client struct {
	events   *eventQueue
	group    *group
	counts   *counters
	listener sessionListener

	mu      sync.Mutex // guards the fields below
	cfg     Config
	cfgErr  error // invalid options: returned by every call until a valid Init
	conn    *conn // nil until first needed, and after close
	gen     uint64
	started bool // the keeper is running
	closed  bool
}

// newClient returns a client for o that reports to l. It does not dial.
func newClient(o Options, l sessionListener, counts *counters) *Client {
	c := &Client{events: newEventQueue(), group: newGroup(), counts: counts, listener: l}
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

// config returns the configuration in use, or why there is none.
func (c *Client) config() (Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg, c.cfgErr
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

// init applies new options. Invalid options change nothing and are
// returned. When the options change how to reach ZooKeeper, the current
// connection is closed (ending its session) and, if reconnect says so, a
// new one is dialled at once.
func (c *Client) init(o Options, reconnect func() bool) error {
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
	c.mu.Unlock()
	if old == nil {
		return nil
	}
	old.close()
	if !reconnect() {
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
		k := &keeper{events: c.events, current: c.current, listener: c.listener, counts: c.counts, ctx: c.group.ctx}
		c.group.Go(k.run)
	}
	return conn, nil
}

// opContext returns a context for one operation, bounded by the
// configured timeout and ended by close.
func (c *Client) opContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	cfg, _ := c.config()
	timeout := cfg.timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	stop := context.AfterFunc(c.group.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// shutdown marks the client closed, stops its goroutine group (no new
// goroutine starts) and returns the connection for the caller to close
// once it stopped what feeds on it; then wait.
func (c *Client) shutdown() *conn {
	c.mu.Lock()
	c.closed = true
	conn := c.conn
	c.conn = nil
	c.mu.Unlock()
	c.group.stop()
	return conn
}

// wait waits for every goroutine of the client's group.
func (c *Client) wait() { c.group.wait() }

// Do runs op with the session's zk.Conn, bounded by ctx: it returns ctx's
// error when ctx ends first, while op's goroutine finishes when ZooKeeper
// answers or the connection closes. It is for faces that need ZooKeeper
// calls of their own (a command's diagnostics); op must not keep the
// zk.Conn. Errors are op's own, or ctx's: the caller describes them.
func (s *Session) Do(ctx context.Context, op func(*zk.Conn) error) error {
	_, err := call(ctx, s.conn, func(z *zk.Conn) (struct{}, error) { return struct{}{}, op(z) })
	return err
}
