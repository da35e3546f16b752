package engine

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// closeOnCancel wraps d so that a connection it makes is closed if ctx
// ends (conn.close ends it) before the server has answered anything.
// zk.Conn.Close does not close the network connection: a server that
// accepts the connection but never answers the session handshake (a hung
// process, a proxy with no backend) keeps zk's loop in that read for ten
// receive timeouts, about 66 s with a 10 s session, and conn.close waits
// for the loop. Closing the connection ends the read at once. Once the
// server has answered, zk closes the connection itself, after its close
// request: closing it first would only make zk wait for that request's
// answer in vain.
func closeOnCancel(ctx context.Context, d zk.Dialer) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		c, err := d(network, address, timeout)
		if err != nil {
			return nil, err
		}
		return &cancelConn{Conn: c, stop: context.AfterFunc(ctx, func() { _ = c.Close() })}, nil
	}
}

// cancelConn is a connection closed when its dial context ends, until the
// server answers or it is closed.
type cancelConn struct {
	net.Conn
	stop     func() bool // unregisters the close at the end of the dial context
	stopOnce sync.Once
}

func (c *cancelConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.stopOnce.Do(func() { c.stop() })
	}
	return n, err
}

func (c *cancelConn) Close() error {
	c.stopOnce.Do(func() { c.stop() })
	return c.Conn.Close()
}
