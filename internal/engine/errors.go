package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
)

// Errors the engine's callers compare.
var (
	// ErrNotFound is returned by GetService for a service without nodes.
	// The go-micro faces return go-micro's registry.ErrNotFound instead.
	ErrNotFound = errors.New("service not found")
	// ErrWatcherStopped is returned by Watcher.Next once it is stopped.
	ErrWatcherStopped = errors.New("watcher stopped")
	// ErrClosed is returned by every call after Close.
	ErrClosed = errors.New("registry is closed")
)

// errConnReplaced reports a call that raced with the replacement of its
// connection (Init with new addresses, or Close).
var errConnReplaced = errors.New("connection was replaced")

// errSessionReplaced reports reads that a new session may have answered:
// a call issued just before a session expired waits in zk while it
// reconnects and is then sent in the new session, which does not show the
// registry's own nodes until they are restored. The work is retried; the
// new session's full resync follows anyway.
var errSessionReplaced = fmt.Errorf("session replaced during a read: %w", errConnReplaced)

// isTransient reports whether err may go away by itself (a lost
// connection, an expired session, a timeout), as opposed to a refusal that
// will repeat.
func isTransient(err error) bool {
	for _, e := range []error{
		zk.ErrConnectionClosed, zk.ErrSessionExpired, zk.ErrNoServer,
		zk.ErrClosing, zk.ErrSessionMoved,
		context.DeadlineExceeded, errConnReplaced,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// isUnimplemented reports a server that does not know an operation; zk has
// no sentinel for ZooKeeper's UNIMPLEMENTED (-6).
func isUnimplemented(err error) bool {
	return err != nil && (errors.Is(err, zk.ErrBadArguments) || strings.HasSuffix(err.Error(), "unknown error: -6"))
}

// Operations named by describe.
const (
	opCreate  = "create"
	opRead    = "read"
	opChange  = "change"
	opReplace = "replace"
	opDelete  = "delete"
)

// describe names the path in err and, for ZooKeeper's refusals, which
// permission on which znode the client lacks: ZooKeeper checks CREATE and
// DELETE on the parent directory, READ and WRITE on the znode itself.
// Refusals are permanent (isTransient is false): callers return them
// rather than retry.
func describe(cfg Config, op string, err error, p string) error {
	switch {
	case errors.Is(err, zk.ErrNoAuth):
		var missing string
		switch op {
		case opCreate:
			missing = "the ACL of " + parent(p) + " does not grant CREATE"
		case opDelete:
			missing = "the ACL of " + parent(p) + " does not grant DELETE"
		case opReplace:
			missing = "it belongs to another session, and the ACL of " + parent(p) + " does not grant DELETE and CREATE"
		case opChange:
			missing = "its ACL does not grant WRITE"
		default:
			missing = "its ACL does not grant READ"
		}
		return fmt.Errorf("not allowed to %s %s: %s to %s: %w", op, shortPath(p), missing, cfg.identity(), err)
	case errors.Is(err, zk.ErrInvalidACL):
		return fmt.Errorf("ZooKeeper refused the ACL for %s (see the ACL and DirACL options): %w", shortPath(p), err)
	default:
		return fmt.Errorf("%s: %w", shortPath(p), err)
	}
}

// shortPath is p for an error message, cut if it is huge.
func shortPath(p string) string {
	if len(p) <= 4*maxQuoted {
		return p
	}
	return quoteShort(p)
}
