package zookeeper

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/logger"
)

// errClosed is returned by every call after Close.
var errClosed = errors.New("zookeeper: registry is closed")

// errSessionClosed reports a call that raced with the replacement of its
// connection (Init with new addresses, or Close).
var errSessionClosed = errors.New("zookeeper: connection was replaced")

// session is one ZooKeeper connection (zk.Conn), which may hold a series of
// ZooKeeper sessions: zk re-establishes a new one by itself after expiry.
type session struct {
	conn    *zk.Conn
	gen     uint64   // which connection of the registry this is
	servers []string // for error messages
	sem     chan struct{}

	authed bool // credentials were sent on this connection; keeper only

	connErr    *connError         // why connecting last failed, for waitReady
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
func dial(cfg config, gen uint64, events *eventQueue) (*session, error) {
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	dialCtx, cancelDial := context.WithCancel(context.Background())
	dialer := plainDialer(dialCtx)
	if tlsCfg != nil {
		dialer = tlsDialer(dialCtx, tlsCfg, cfg.timeout)
	}
	connErr := &connError{}
	dialer = reportingDialer(dialer, connErr, tlsCfg != nil)
	conn, evc, err := zk.Connect(cfg.servers, cfg.sessionTimeout,
		zk.WithLogger(zkLogger{cfg.logger}),
		zk.WithEventCallback(func(e zk.Event) { events.push(gen, e) }),
		zk.WithDialer(bufferedDialer(dialer)),
	)
	if err != nil {
		cancelDial()
		return nil, fmt.Errorf("zookeeper: connect to %s: %w", strings.Join(cfg.servers, ","), err)
	}
	s := &session{
		conn:       conn,
		gen:        gen,
		servers:    cfg.servers,
		connErr:    connErr,
		cancelDial: cancelDial,
		sem:        make(chan struct{}, cfg.readConcurrency),
		ready:      make(chan struct{}),
		done:       make(chan struct{}),
	}
	// zk also sends every event the callback sees to evc, dropping them when
	// it is full. Drain it until zk closes it, which tells close that zk's
	// loop is over.
	go func() {
		defer close(s.done)
		for range evc {
		}
	}()
	return s, nil
}

// plainDialer dials TCP within zk's connect timeout, or until ctx ends.
func plainDialer(ctx context.Context) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		d := &net.Dialer{Timeout: timeout}
		return d.DialContext(ctx, network, address)
	}
}

// tlsDialer dials ZooKeeper's secure client port. Verification follows cfg;
// without a ServerName in cfg, the host of the address is verified. The TCP
// connection must be made within zk's connect timeout (1 s), the handshake
// within handshake (registry.Timeout): a server's first handshakes, before
// its JVM warms up, can take longer than a second. ctx ends both early.
func tlsDialer(ctx context.Context, cfg *tls.Config, handshake time.Duration) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		c := cfg.Clone()
		if c.ServerName == "" {
			if host, _, err := net.SplitHostPort(address); err == nil {
				c.ServerName = host
			}
		}
		d := &net.Dialer{Timeout: timeout}
		raw, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		hctx, cancel := context.WithTimeout(ctx, max(timeout, handshake))
		defer cancel()
		conn := tls.Client(raw, c)
		if err := conn.HandshakeContext(hctx); err != nil {
			raw.Close()
			var remote *net.OpError
			if len(c.Certificates) == 0 && c.GetClientCertificate == nil && errors.As(err, &remote) && remote.Op == "remote error" {
				return nil, fmt.Errorf("TLS handshake with %s, refused by the server (if it requires a client certificate, see registry.TLSConfig and %s): %w", address, EnvTLSCert, err)
			}
			return nil, fmt.Errorf("TLS handshake with %s: %w", address, err)
		}
		return conn, nil
	}
}

// connError remembers why connecting last failed. zk retries connecting
// forever and only logs why; a call that times out waiting for a session
// reports this instead (a refused connection, a certificate the registry
// does not trust, a plaintext client at a TLS port).
type connError struct {
	mu  sync.Mutex // guards err
	err error
}

func (e *connError) set(err error) {
	e.mu.Lock()
	e.err = err
	e.mu.Unlock()
}

func (e *connError) get() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// reportingDialer wraps d so that errs learns why connecting fails: d's own
// error, or the server closing the connection before it answered zk's
// session handshake.
func reportingDialer(d zk.Dialer, errs *connError, secure bool) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		c, err := d(network, address, timeout)
		if err != nil {
			errs.set(err)
			return nil, err
		}
		return &handshakeConn{Conn: c, address: address, secure: secure, errs: errs}, nil
	}
}

// handshakeConn records a read that fails before the server sent anything:
// the session handshake was refused. A secure client port closes a
// plaintext connection at once, which looks like this.
type handshakeConn struct {
	net.Conn
	address  string
	secure   bool
	errs     *connError
	answered atomic.Bool
}

func (c *handshakeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.answered.Store(true)
	} else if err != nil && !c.answered.Load() {
		hint := ""
		if !c.secure && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			hint = " (a ZooKeeper secure client port does this to a plaintext client: to dial TLS, see registry.Secure and " + EnvTLS + ")"
		}
		c.errs.set(fmt.Errorf("%s did not answer the session handshake%s: %w", c.address, hint, err))
	}
	return n, err
}

// readBufferSize is the read buffer of each connection (see bufferedConn).
const readBufferSize = 32 << 10

// bufferedConn reads through a buffer. zk reads every response with two
// reads, its length and then its body, each a system call on a bare
// connection; when many reads are in flight, one call through the buffer
// usually fetches several responses.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// bufferedDialer returns d's connections wrapped in a bufferedConn.
func bufferedDialer(d zk.Dialer) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		c, err := d(network, address, timeout)
		if err != nil {
			return nil, err
		}
		return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}, nil
	}
}

// close ends the connection (and with it the session and its ephemeral
// nodes) and waits for every call goroutine. It is idempotent.
func (s *session) close() {
	s.mu.Lock()
	already := s.closing
	s.closing = true
	s.mu.Unlock()
	if !already {
		s.cancelDial()
		s.conn.Close()
	}
	<-s.done
	s.wg.Wait()
}

// track registers a call goroutine; false once the session is closing.
func (s *session) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// setReady records whether the session can serve calls.
func (s *session) setReady(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.ready:
		if !ok {
			s.ready = make(chan struct{})
		}
	default:
		if ok {
			close(s.ready)
		}
	}
	if ok {
		s.connErr.set(nil)
	}
}

func (s *session) readyChan() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

func (s *session) isReady() bool {
	select {
	case <-s.readyChan():
		return true
	default:
		return false
	}
}

// waitReady waits until the session can serve calls.
func (s *session) waitReady(ctx context.Context) error {
	select {
	case <-s.readyChan():
		return nil
	default:
	}
	select {
	case <-s.readyChan():
		return nil
	case <-s.done:
		return errSessionClosed
	case <-ctx.Done():
		if last := s.connErr.get(); last != nil {
			return fmt.Errorf("no session with %s (state %s; last connection error: %w): %w", strings.Join(s.servers, ","), s.conn.State(), last, ctx.Err())
		}
		return fmt.Errorf("no session with %s (state %s): %w", strings.Join(s.servers, ","), s.conn.State(), ctx.Err())
	}
}

// sessionID is the id of the session currently established, 0 if none.
func (s *session) sessionID() int64 { return s.conn.SessionID() }

// call runs op on s's connection and returns its result, or ctx's error when
// ctx ends first. zk calls cannot be cancelled: op's goroutine finishes when
// ZooKeeper answers or the connection is closed, and close waits for it.
func call[T any](ctx context.Context, s *session, op func(*zk.Conn) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if !s.track() {
		return zero, errSessionClosed
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer s.wg.Done()
		v, err := op(s.conn)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// znode is the result of reading one znode.
type znode struct {
	data []byte
	stat *zk.Stat
	err  error
}

// readAll reads the znodes at paths concurrently on s, for calls bounded by
// ctx (the mirror's workers use readWatched). The i-th result belongs to
// paths[i].
func (s *session) readAll(ctx context.Context, paths []string) ([]znode, error) {
	out := make([]znode, len(paths))
	err := s.each(ctx, len(paths), func(c *zk.Conn, i int) {
		z := &out[i]
		z.data, z.stat, z.err = c.Get(paths[i])
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// each calls fn for i in [0, n) on s's connection from several goroutines,
// keeping at most cap(s.sem) calls in flight over the whole session, and
// waits for all of them. It returns ctx's error if ctx ends first; the
// caller must then not read what fn writes.
func (s *session) each(ctx context.Context, n int, fn func(c *zk.Conn, i int)) error {
	if n == 0 {
		return ctx.Err()
	}
	workers := min(n, cap(s.sem))
	var next atomic.Int64
	var running atomic.Int32
	running.Store(int32(workers))
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		if !s.track() {
			return errSessionClosed // workers already started end on their own
		}
		go func() {
			defer s.wg.Done()
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
				case s.sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				fn(s.conn, i)
				<-s.sem
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
// it; going through call would add two goroutine hand-offs to the latency of
// every watch event. ctx is checked before each call.
func listChildren(ctx context.Context, s *session, p string) ([]string, error) {
	for attempt := 0; attempt < 3; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		children, _, _, err := s.conn.ChildrenW(p)
		if !errors.Is(err, zk.ErrNoNode) {
			return children, err
		}
		exists, _, _, err := s.conn.ExistsW(p)
		if err != nil || !exists {
			return nil, err
		}
		// Created between the two calls: list again.
	}
	return nil, fmt.Errorf("zookeeper: %s keeps being created and deleted", p)
}

// readWatched reads the znodes at paths and sets a data watch on each, for
// the mirror's workers. The caller's goroutine is one of the readers (see
// listChildren): a single read, the usual case after a watch event, needs
// no other goroutine, and more share cap(s.sem) reads in flight with the
// rest of the session. The i-th result belongs to paths[i].
func (s *session) readWatched(ctx context.Context, paths []string) ([]znode, error) {
	out := make([]znode, len(paths))
	var next atomic.Int64
	read := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(paths) || ctx.Err() != nil {
				return
			}
			select {
			case s.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			z := &out[i]
			z.data, z.stat, _, z.err = s.conn.GetW(paths[i])
			<-s.sem
		}
	}
	var helpers sync.WaitGroup
	for h := 1; h < min(len(paths), cap(s.sem)); h++ {
		if !s.track() {
			break // closing: zk fails the caller's reads at once
		}
		helpers.Add(1)
		go func() {
			defer s.wg.Done()
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

// isTransient reports whether err may go away by itself (a lost connection,
// an expired session, a timeout), as opposed to a refusal that will repeat.
func isTransient(err error) bool {
	for _, e := range []error{
		zk.ErrConnectionClosed, zk.ErrSessionExpired, zk.ErrNoServer,
		zk.ErrClosing, zk.ErrSessionMoved,
		context.DeadlineExceeded, errSessionClosed,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// zkLogger routes go-zookeeper's own log lines to the registry's logger, at
// debug level: the keeper logs what matters about the connection itself.
type zkLogger struct{ l logger.Logger }

func (z zkLogger) Printf(format string, args ...any) {
	z.l.Logf(logger.DebugLevel, "zookeeper: zk: "+format, args...)
}

// eventQueue carries zk events from zk's callback, which must never block,
// to the keeper. It is unbounded: the keeper drains it continuously.
type eventQueue struct {
	mu     sync.Mutex // guards items
	items  []genEvent
	signal chan struct{} // coalescing "items is not empty"
}

type genEvent struct {
	gen uint64
	zk.Event
}

func newEventQueue() *eventQueue {
	return &eventQueue{signal: make(chan struct{}, 1)}
}

func (q *eventQueue) push(gen uint64, e zk.Event) {
	q.mu.Lock()
	q.items = append(q.items, genEvent{gen, e})
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) drain() []genEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// keep is the session keeper: the one goroutine that consumes zk's events.
// It tracks connection state and session identity, sends credentials on a
// new connection, tells the owner and the mirror when a new session replaced
// an expired one, routes watch events to them, and evicts idle mirror state.
func (r *zkRegistry) keep() {
	defer r.wg.Done()
	sweep := time.NewTicker(min(r.config().mirrorIdle/4, time.Minute))
	defer sweep.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.events.signal:
			for _, e := range r.events.drain() {
				r.handleEvent(e)
			}
		case <-sweep.C:
			r.mirror.evictIdle(time.Now())
		}
	}
}

func (r *zkRegistry) handleEvent(e genEvent) {
	r.mu.Lock()
	s := r.sess
	cfg := r.cfg
	r.mu.Unlock()
	if s == nil || s.gen != e.gen {
		return // from a connection that was replaced
	}
	switch e.Type {
	case zk.EventSession:
		r.handleState(s, cfg, e.State, e.Server)
	case zk.EventNotWatching:
		// Watches were dropped with an expired session; the new session's
		// resync re-arms them.
	default:
		r.owner.onEvent(e.Event, cfg.root)
		r.mirror.onEvent(e.Event, cfg.root)
	}
}

func (r *zkRegistry) handleState(s *session, cfg config, state zk.State, server string) {
	log := cfg.logger
	switch state {
	case zk.StateHasSession:
		if !s.authed && len(cfg.auth) > 0 {
			ctx, cancel := context.WithTimeout(r.ctx, cfg.timeout)
			err := r.sendAuth(ctx, s, cfg)
			cancel()
			if err != nil {
				log.Logf(logger.ErrorLevel, "zookeeper: sending credentials to %s: %v", server, err)
				return // retried on the next connection
			}
			s.authed = true
		}
		sid := s.sessionID()
		s.mu.Lock()
		prev := s.sid
		s.sid = sid
		s.mu.Unlock()
		if sid != prev {
			if prev != 0 {
				log.Logf(logger.WarnLevel, "zookeeper: session 0x%x expired; new session 0x%x with %s: restoring %d registrations", prev, sid, server, r.owner.count())
			} else {
				log.Logf(logger.InfoLevel, "zookeeper: session 0x%x established with %s", sid, server)
			}
			gate := r.mirror.hold()
			restored := r.owner.newSession()
			r.wg.Add(1)
			go r.resyncAfterRestore(gate, restored, cfg.timeout)
		} else if !s.isReady() {
			log.Logf(logger.InfoLevel, "zookeeper: reconnected to %s, session 0x%x kept", server, sid)
		}
		s.setReady(true)
		r.mirror.setConnected(true)
	case zk.StateDisconnected, zk.StateConnecting:
		if s.isReady() {
			log.Logf(logger.WarnLevel, "zookeeper: disconnected from %s; session 0x%x lasts %v without a connection", server, s.sessionID(), cfg.sessionTimeout)
		}
		s.setReady(false)
		r.mirror.setConnected(false)
	case zk.StateExpired:
		log.Logf(logger.WarnLevel, "zookeeper: session expired; its ephemeral nodes are gone, will restore on the next session")
		s.setReady(false)
		r.mirror.setConnected(false)
	case zk.StateAuthFailed:
		log.Logf(logger.ErrorLevel, "zookeeper: %s refused the credentials", server)
	}
}

// resyncAfterRestore lets the mirror re-list and re-read everything once the
// owner has restored the registry's nodes in the new session, or after
// limit, whichever comes first.
func (r *zkRegistry) resyncAfterRestore(gate chan struct{}, restored <-chan struct{}, limit time.Duration) {
	defer r.wg.Done()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-restored:
	case <-t.C:
	case <-r.ctx.Done():
	}
	r.mirror.release(gate)
}

// sendAuth presents the configured credentials. zk re-sends them by itself
// whenever it reconnects, so this runs once per connection.
func (r *zkRegistry) sendAuth(ctx context.Context, s *session, cfg config) error {
	for _, a := range cfg.auth {
		if _, err := call(ctx, s, func(c *zk.Conn) (struct{}, error) {
			return struct{}{}, c.AddAuth(a.scheme, a.credential)
		}); err != nil {
			return fmt.Errorf("zookeeper: auth scheme %q: %w", a.scheme, err)
		}
	}
	return nil
}
