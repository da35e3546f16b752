package main

import (
	"errors"
	"fmt"

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
