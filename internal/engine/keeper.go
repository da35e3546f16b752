package engine

import (
	"context"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// sessionListener is told what happens to a Client's session, on the
// keeper's goroutine: its methods must not block. What is built on a
// client (a Registry, each Tree) attaches one.
type sessionListener interface {
	// sessionStarted: a session was established that is not the one
	// before (the first on a connection, or a new one after an expiry):
	// ephemeral nodes and watches of the previous one are gone.
	sessionStarted(cfg Config, prev, sid int64)
	// connected: the session can serve calls (true), or lost its
	// connection or expired (false).
	connected(ok bool)
	// watchEvent: a watch fired. Every listener hears every event and
	// takes those under its own root.
	watchEvent(cfg Config, e zk.Event)
	// needsSession reports whether the listener needs a session now (it
	// holds registrations or follows znodes), so that a connection
	// replaced by Init is dialled again at once.
	needsSession() bool
}

// keeper is the session keeper: the one goroutine that consumes zk's
// events. It tracks connection state and session identity, sends
// credentials on a new connection, and tells its client's listeners.
type keeper struct {
	events    *eventQueue
	current   func() (*conn, Config)   // the connection in use and its config
	listeners func() []sessionListener // those attached now
	counts    *counters
	ctx       context.Context // ends the keeper
}

// run is the keeper's goroutine.
func (k *keeper) run() {
	for {
		select {
		case <-k.ctx.Done():
			return
		case <-k.events.signal:
			for _, e := range k.events.drain() {
				k.handle(e)
			}
		}
	}
}

func (k *keeper) handle(e connEvent) {
	c, cfg := k.current()
	if e.attached != nil {
		// A listener attached while the keeper runs: it learns the
		// connection's state in order with every later event.
		e.attached.connected(c != nil && c.isReady())
		return
	}
	if c == nil || c.gen != e.gen {
		return // from a connection that was replaced
	}
	switch e.Type {
	case zk.EventSession:
		k.state(c, cfg, e.State, e.Server)
	case zk.EventNotWatching:
		// Watches were dropped with an expired session; the new session's
		// resync re-arms them.
	default:
		k.counts.watchEvents.Add(1)
		for _, l := range k.listeners() {
			l.watchEvent(cfg, e.Event)
		}
	}
}

func (k *keeper) state(c *conn, cfg Config, state zk.State, server string) {
	log := cfg.logger
	switch state {
	case zk.StateHasSession:
		if !c.authed && len(cfg.auth) > 0 {
			ctx, cancel := context.WithTimeout(k.ctx, cfg.timeout)
			err := sendAuth(ctx, c, cfg)
			cancel()
			if err != nil {
				log.Logf(LevelError, "zookeeper: sending credentials to %s: %v", server, err)
				return // retried on the next connection
			}
			c.authed = true
		}
		sid := c.sessionID()
		prev := c.keeperSID(sid)
		if sid != prev {
			if prev != 0 {
				log.Logf(LevelWarn, "zookeeper: session 0x%x expired; new session 0x%x with %s", prev, sid, server)
			} else {
				log.Logf(LevelInfo, "zookeeper: session 0x%x established with %s", sid, server)
			}
			k.counts.sessionsEstablished.Add(1)
			for _, l := range k.listeners() {
				l.sessionStarted(cfg, prev, sid)
			}
		} else if !c.isReady() {
			log.Logf(LevelInfo, "zookeeper: reconnected to %s, session 0x%x kept", server, sid)
		}
		c.setReady(true)
		k.connected(true)
	case zk.StateDisconnected, zk.StateConnecting:
		if c.isReady() {
			k.counts.disconnects.Add(1)
			log.Logf(LevelWarn, "zookeeper: disconnected from %s; session 0x%x lasts %v without a connection", server, c.sessionID(), cfg.sessionTimeout)
		}
		c.setReady(false)
		k.connected(false)
	case zk.StateExpired:
		k.counts.sessionExpirations.Add(1)
		log.Logf(LevelWarn, "zookeeper: session expired; its ephemeral nodes are gone, restoring them on the next session")
		c.setReady(false)
		k.connected(false)
	case zk.StateAuthFailed:
		log.Logf(LevelError, "zookeeper: %s refused the credentials", server)
	}
}

// connected tells every listener whether the session can serve calls.
func (k *keeper) connected(ok bool) {
	for _, l := range k.listeners() {
		l.connected(ok)
	}
}

// sendAuth presents the configured credentials. zk re-sends them by itself
// whenever it reconnects, so this runs once per connection.
func sendAuth(ctx context.Context, c *conn, cfg Config) error {
	for _, a := range cfg.auth {
		if _, err := call(ctx, c, func(z *zk.Conn) (struct{}, error) {
			return struct{}{}, z.AddAuth(a.scheme, a.credential)
		}); err != nil {
			return fmt.Errorf("auth scheme %s: %w", quoteShort(a.scheme), err)
		}
	}
	return nil
}
