package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/registry"
)

func (a *app) watchCommand() *cli.Command {
	return &cli.Command{
		Name:            "watch",
		Usage:           "print a line per node created, updated or deleted, until interrupted",
		UsageText:       "zkmicro watch [SERVICE]",
		HideHelpCommand: true,
		OnUsageError:    a.onUsageError,
		Action:          a.watch,
	}
}

func (a *app) watch(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 0, 1, "SERVICE"); err != nil {
		return err
	}
	cfg, err := a.registryFromFlags(cCtx)
	if err != nil {
		return err
	}
	service := cCtx.Args().First()
	return a.withRegistry(cfg, func(reg registry.Registry) error {
		started := func() {
			if service == "" {
				a.logf("watching every service")
			} else {
				a.logf("watching %s", service)
			}
		}
		return watchRegistry(cCtx.Context, reg, service, a.stdout, a.now, started)
	})
}

// watchRegistry writes a line to w for each change the registry reports,
// for service or, if it is "", for every service, until ctx ends (nil) or
// the watcher fails (its error). It calls started once the watcher is in
// place: changes from then on are written. The lines are documented in the
// package documentation.
func watchRegistry(ctx context.Context, reg registry.Registry, service string, w io.Writer, now func() time.Time, started func()) error {
	opts := []registry.WatchOption{registry.WatchContext(ctx)}
	if service != "" {
		opts = append(opts, registry.WatchService(service))
	}
	watcher, err := reg.Watch(opts...)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch: %w", err)
	}
	defer stopWhenDone(ctx, watcher.Stop)()
	started()
	for {
		res, err := watcher.Next()
		if err != nil {
			if ctx.Err() != nil {
				// Interrupted: registry.ErrWatcherStopped, or whatever a
				// registry says when its watcher is stopped, is the normal end.
				return nil
			}
			return fmt.Errorf("watch: %w", err)
		}
		if err := writeWatchResult(w, now(), res); err != nil {
			return err
		}
	}
}

// stopWhenDone calls stop (a watcher's Stop) when ctx ends, so that a Next
// blocked in the watcher returns. The function it returns calls stop too,
// and returns once the goroutine it started has ended.
func stopWhenDone(ctx context.Context, stop func()) (release func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			stop()
		case <-done:
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		stop()
	}
}

// writeWatchResult writes the lines of one watch result seen at t:
// "TIME ACTION SERVICE VERSION NODE-ID ADDRESS", one per node (one with
// NODE-ID and ADDRESS "-" if the result carries no node).
func writeWatchResult(w io.Writer, t time.Time, res *registry.Result) error {
	if res == nil {
		return nil
	}
	stamp := t.UTC().Format(timestampLayout)
	var name, version string
	var nodes []*registry.Node
	if res.Service != nil {
		name, version, nodes = res.Service.Name, res.Service.Version, res.Service.Nodes
	}
	if len(nodes) == 0 {
		nodes = []*registry.Node{{}}
	}
	for _, n := range nodes {
		if n == nil {
			n = &registry.Node{}
		}
		fields := []any{stamp, field(res.Action), field(name), field(version), field(n.Id), field(n.Address)}
		if nodeOrigin(n) == originCurator {
			fields = append(fields, "("+originCurator+")")
		}
		if _, err := fmt.Fprintln(w, fields...); err != nil {
			return err
		}
	}
	return nil
}
