package zookeeper

import (
	"errors"

	"go-micro.dev/v5/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// zkWatcher implements registry.Watcher over an engine Watcher, which
// reports exact per-node changes of the registry's mirror (see
// engine.Watcher): "create" for a new node, "update" when its data
// changed, "delete" (with the last reported node) when it is gone; a node
// that moves to another version is a delete and a create, which is how
// go-micro's registry/cache groups nodes.
type zkWatcher struct {
	w *engine.Watcher
}

// Next blocks until a node changes and returns the change, or returns
// registry.ErrWatcherStopped once the watcher is stopped. Each Result's
// Service holds exactly the affected node and belongs to the caller. Safe
// for concurrent use; callers usually call it from one goroutine.
func (w *zkWatcher) Next() (*registry.Result, error) {
	e, err := w.w.Next()
	if err != nil {
		if errors.Is(err, engine.ErrWatcherStopped) {
			return nil, registry.ErrWatcherStopped
		}
		return nil, err
	}
	return &registry.Result{Action: e.Action, Service: fromEngineService(e.Service)}, nil
}

// Stop ends the watcher: Next returns registry.ErrWatcherStopped. It is
// idempotent and safe to call concurrently with Next.
func (w *zkWatcher) Stop() { w.w.Stop() }
