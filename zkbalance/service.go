package zkbalance

import (
	"context"

	"go-micro.dev/v4"
	"go-micro.dev/v4/server"
)

// This file holds what depends on the go-micro line's service package
// (micro.Option, micro.Options and their hooks); the rest of the package
// uses only the selector, server, registry, errors and logger packages.

// Publish returns a go-micro service option that makes the service's
// server count its requests and publish its load (a Load, configured by
// opts), and drain its node when the service stops:
//
//	service := micro.NewService(micro.Name("greeter"), zkbalance.Publish())
//
// It adds the Load's HandlerWrapper to the server, starts publishing once
// the service has started (micro.AfterStart: the node is registered, the
// flags parsed), and before the service stops (micro.BeforeStop: go-micro
// then stops the server, which deregisters the node and waits for the
// requests still running) it drains: the node is published as draining,
// and the stop waits until no request has been in flight for a moment, up
// to DrainTimeout (10 s). Give Publish once, and after micro.Server if you
// give that: the wrapper goes to the server in the options when Publish is
// applied. With a registry that is not this module's, the server counts
// its requests but publishes nothing, and stops without waiting.
func Publish(opts ...Option) micro.Option {
	return func(o *micro.Options) {
		load := NewLoad(opts...)
		srv := o.Server
		_ = srv.Init(server.WrapHandler(load.HandlerWrapper())) // go-micro's servers return no error
		o.AfterStart = append(o.AfterStart, func() error { return load.Start(srv) })
		o.BeforeStop = append(o.BeforeStop, func() error { return load.Drain(context.Background()) })
	}
}
