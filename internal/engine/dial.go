package engine

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
)

// This file holds the dialers a connection is made with: plain TCP or TLS,
// wrapped so that the reason connecting fails is remembered (zk only logs
// it) and so that responses are read through a buffer.

// newDialer returns the dialer for a connection: TLS when tlsCfg is set,
// reporting failures to errs, reading through a buffer. ctx ends dials and
// handshakes in progress. attempt bounds each attempt's wait for a server's
// first answer (see attemptBound).
func newDialer(ctx context.Context, tlsCfg *tls.Config, attempt time.Duration, errs *connError, granted *negotiated) zk.Dialer {
	d := plainDialer(ctx)
	if tlsCfg != nil {
		d = tlsDialer(ctx, tlsCfg, attempt)
	}
	d = closeOnCancel(ctx, d)
	return bufferedDialer(reportingDialer(d, errs, tlsCfg != nil, granted, attempt))
}

// minAttempt is the least time one connection attempt gives a server to
// answer, however short the timeout and many the servers.
const minAttempt = 100 * time.Millisecond

// attemptBound is how long one connection attempt waits for a server's
// first answer (its TLS handshake, then its session handshake): the
// timeout shared among the servers, timeout/len(servers) (at least
// minAttempt). zk tries the servers one after another, in a shuffled
// order; members that accept connections and never answer (a hung JVM, a
// proxy without a backend) tried first then leave a server that answers
// its share of the budget, so that the first call succeeds within the
// timeout whatever the order. zk alone waits ten receive timeouts (about
// 66 s with a 10 s session) on each.
func attemptBound(timeout time.Duration, servers int) time.Duration {
	return max(timeout/time.Duration(max(servers, 1)), minAttempt)
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
// within handshake (the attempt's bound, or zk's connect timeout if that is
// longer): a server's first handshakes, before its JVM warms up, can take
// longer than a second. ctx ends both early.
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
			return nil, handshakeError(address, c, err)
		}
		return conn, nil
	}
}

// handshakeError explains a failed TLS handshake.
func handshakeError(address string, c *tls.Config, err error) error {
	var remote *net.OpError
	var notTLS tls.RecordHeaderError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.As(err, &notTLS):
		// A plaintext client port reads the ClientHello as a malformed
		// request and closes the connection.
		return fmt.Errorf("TLS handshake with %s: the server closed the connection, as a port that does not speak TLS does (is %s ZooKeeper's secureClientPort?): %w", address, address, err)
	case len(c.Certificates) == 0 && c.GetClientCertificate == nil && errors.As(err, &remote) && remote.Op == "remote error":
		return fmt.Errorf("TLS handshake with %s, refused by the server (if it requires a client certificate, configure one: registry.TLSConfig or %s): %w", address, EnvTLSCert, err)
	}
	return fmt.Errorf("TLS handshake with %s: %w", address, err)
}

// negotiated holds the session timeout the server granted on the last
// handshake, in milliseconds (0 before the first): the server clamps what
// the client asks for to its own bounds, and zk keeps the answer to
// itself.
type negotiated struct{ ms atomic.Int32 }

// Timeout returns the last granted session timeout, 0 if none yet.
func (n *negotiated) timeout() time.Duration {
	return time.Duration(n.ms.Load()) * time.Millisecond
}

// connError remembers why connecting last failed. zk retries connecting
// forever and only logs why; a call that times out waiting for a session
// reports this instead (a refused connection, a certificate the client
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
func reportingDialer(d zk.Dialer, errs *connError, secure bool, granted *negotiated, answerWithin time.Duration) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		c, err := d(network, address, timeout)
		if err != nil {
			errs.set(err)
			return nil, err
		}
		return &handshakeConn{Conn: c, address: address, secure: secure, errs: errs, granted: granted, answerWithin: answerWithin}, nil
	}
}

// handshakeConn records a read that fails before the server sent anything:
// the session handshake was refused. A secure client port closes a
// plaintext connection at once, which looks like this. It also reads the
// session timeout the server granted from the handshake's answer: its
// length, protocol version and timeout, three big-endian int32s.
type handshakeConn struct {
	net.Conn
	address      string
	secure       bool
	errs         *connError
	granted      *negotiated
	answerWithin time.Duration // bound on the wait for the server's first answer
	answered     atomic.Bool

	head  [12]byte // the start of the server's first answer; zk reads on one goroutine
	headN int
}

func (c *handshakeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.headN < len(c.head) && n > 0 {
		c.headN += copy(c.head[c.headN:], p[:n])
		if c.headN == len(c.head) {
			c.granted.ms.Store(int32(binary.BigEndian.Uint32(c.head[8:12])))
		}
	}
	if n > 0 {
		c.answered.Store(true)
	} else if err != nil && !c.answered.Load() {
		hint := ""
		if !c.secure && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) && speaksTLS(c.address, c.answerWithin) {
			hint = " (it speaks TLS: it is a ZooKeeper secure client port, which closes plaintext connections; to dial TLS, use registry.Secure or registry.TLSConfig, or set " + EnvTLS + ")"
		}
		c.errs.set(fmt.Errorf("%s did not answer the session handshake%s: %w", c.address, hint, err))
	}
	return n, err
}

// speaksTLS reports whether address answers a TLS handshake within
// timeout (whether or not its certificate would be trusted): a plaintext
// connection closed before any answer is then explained by TLS, and not
// by a partition, a proxy without a backend or a server going down, which
// close connections the same way.
func speaksTLS(address string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), max(timeout, minAttempt))
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return false
	}
	defer raw.Close()
	// Verification is off: the question is only whether the server sends
	// TLS records. Nothing is sent over this connection.
	conn := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // a probe that carries no data
	err = conn.HandshakeContext(ctx)
	var alert tls.AlertError
	var notTLS tls.RecordHeaderError
	switch {
	case err == nil, errors.As(err, &alert):
		return true
	case errors.As(err, &notTLS):
		return false
	}
	var remote *net.OpError
	return errors.As(err, &remote) && remote.Op == "remote error"
}

// SetReadDeadline bounds, until the server first answers, zk's wait for the
// session handshake's answer by answerWithin (attemptBound). zk allows ten
// receive timeouts (about 66 s with a 10 s session), all that time trying
// no other server: one member that accepts connections and never answers
// (a hung JVM, a proxy without a backend) would hold the session back that
// long.
func (c *handshakeConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && !c.answered.Load() {
		if limit := time.Now().Add(c.answerWithin); t.After(limit) {
			t = limit
		}
	}
	return c.Conn.SetReadDeadline(t)
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
