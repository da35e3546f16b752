package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// errNotZooKeeper is returned by the commands that need ZooKeeper itself
// (prune, doctor) when the registry is another one (only tests do that).
var errNotZooKeeper = errors.New("this command needs the ZooKeeper registry")

// engineOf returns the engine under reg, the module's ZooKeeper registry.
func engineOf(reg registry.Registry) (*engine.Registry, error) {
	e, ok := reg.(interface{ Engine() *engine.Registry })
	if !ok {
		return nil, fmt.Errorf("%w, not %q", errNotZooKeeper, reg.String())
	}
	return e.Engine(), nil
}

// zkCall runs op on the session's connection, bounded by timeout.
func zkCall(ctx context.Context, sess *engine.Session, timeout time.Duration, op func(*zk.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return sess.Do(ctx, op)
}
