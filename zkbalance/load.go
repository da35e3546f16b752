package zkbalance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"

	"github.com/zkmicro/zookeeper/internal/balance"
	"github.com/zkmicro/zookeeper/internal/engine"
)

// ErrClosed is returned by Start after Close or Drain.
var ErrClosed = errors.New("zookeeper: balance: load closed")

// Load counts the requests a go-micro server is handling and publishes
// that load in the metadata of the server's node (engine.MetaLoad,
// "load"), and drains the node when the server stops. Publish sets one up
// for a go-micro service; a server built by hand wires it so:
//
//	load := zkbalance.NewLoad()
//	srv := server.NewServer(server.Registry(reg), server.WrapHandler(load.HandlerWrapper()))
//	// register handlers, then:
//	srv.Start()
//	load.Start(srv)
//	// ... and to stop:
//	load.Drain(ctx)
//	srv.Stop()
//
// Its methods may be called concurrently.
type Load struct {
	cfg   loadConfig
	meter balance.Meter

	mu      sync.Mutex // guards the fields below
	pub     *publication
	closed  bool
	drained bool // Drain published the node as draining
}

// publication is a started Load's node and the goroutine that publishes
// its load.
type publication struct {
	eng         *engine.Registry // nil: the registry is not this module's, nothing is written
	service, id string
	log         logger.Logger
	cancel      context.CancelFunc
	done        chan struct{} // closed when the goroutine returns
}

// NewLoad returns a Load configured by opts (Interval, DrainTimeout). It
// counts requests at once, and publishes nothing until Start.
func NewLoad(opts ...Option) *Load {
	return &Load{cfg: newLoadConfig(opts)}
}

// HandlerWrapper returns the go-micro handler wrapper that counts the
// requests the server is handling: from the moment the wrapper is called
// until the handler returns (a stream, for as long as it is open). Give it
// to the server (server.WrapHandler, micro.WrapHandler) once.
func (l *Load) HandlerWrapper() server.HandlerWrapper {
	return func(next server.HandlerFunc) server.HandlerFunc {
		return func(ctx context.Context, req server.Request, rsp interface{}) error {
			l.meter.Begin()
			defer l.meter.End()
			return next(ctx, req, rsp)
		}
	}
}

// InFlight returns the number of requests the server is handling.
func (l *Load) InFlight() int { return l.meter.InFlight() }

// Start publishes the load of srv's node, from now on, until Drain or
// Close. The node is the one go-micro's server registers: service
// srv.Options().Name, node id Name + "-" + Id, read now (call Start once
// the server's options are final: after flags are parsed, typically once
// it started). Every Interval the server's mean number of requests in
// flight over the interval is offered, and written to the node's metadata
// only when it changed enough (see the package documentation), through the
// registry's own session (engine SetNodeMetadata: kept across go-micro's
// periodic re-registration and restored after a session expiry).
//
// The registry must be this module's ZooKeeper registry
// (github.com/zkmicro/zookeeper or its v5 twin). With any other, nothing is
// ever written (the server's logger says so, once): Start returns nil, the
// wrapper still counts, and Drain does not wait. A second Start is a no-op;
// Start after Close or Drain returns ErrClosed.
func (l *Load) Start(srv server.Server) error {
	o := srv.Options()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return ErrClosed
	case l.pub != nil:
		return nil
	}
	log := o.Logger
	if log == nil {
		log = logger.DefaultLogger
	}
	p := &publication{service: o.Name, id: o.Name + "-" + o.Id, log: log, done: make(chan struct{})}
	eng, ok := engineOf(o.Registry)
	if !ok {
		log.Logf(logger.InfoLevel, "zkbalance: the registry %s is not this module's ZooKeeper registry: the load of %q is not published", describe(o.Registry), p.id)
		close(p.done)
		l.pub = p
		return nil
	}
	p.eng = eng
	l.meter.Mean() // the first load published covers the first interval only
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	l.pub = p
	go func() {
		defer close(p.done)
		l.publish(ctx, p)
	}()
	return nil
}

// publish offers the load every interval until ctx ends.
func (l *Load) publish(ctx context.Context, p *publication) {
	t := time.NewTicker(l.cfg.interval)
	defer t.Stop()
	var gate balance.LoadGate
	var last string       // the text published last
	var lastSet time.Time // when it was set
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		load := l.meter.Mean()
		text, ok := gate.Offer(load)
		if !ok && last != "" && time.Since(lastSet) >= l.cfg.refresh {
			text, ok = last, true
			load, _ = balance.ParseLoad(last)
		}
		if !ok {
			continue
		}
		err := p.eng.SetNodeMetadata(ctx, p.service, p.id, map[string]string{engine.MetaLoad: text})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				p.log.Logf(logger.WarnLevel, "zkbalance: publishing the load of %q (retried every %v while it fails): %v", p.id, l.cfg.interval, err)
			}
			failing = true
		default:
			if failing {
				p.log.Logf(logger.InfoLevel, "zkbalance: the load of %q is published again", p.id)
			}
			failing = false
			gate.Published(load)
			last, lastSet = text, time.Now()
		}
	}
}

// Drain stops publishing the load and publishes the node as draining
// (engine.MetaStatus "draining"), so that clients using LeastLoaded send it
// no new requests, then waits until no request has been in flight for a
// moment (200 ms: the requests of clients that picked the node before they
// learnt of the drain arrive meanwhile), for at most DrainTimeout or until
// ctx ends; the caller then stops the server, which deregisters the node.
// It returns the error of the write, if any; running out of time is not an
// error. Without Start, or with a registry that is not this module's, it
// only stops. Drain ends the Load as Close does; a second Drain does
// nothing.
func (l *Load) Drain(ctx context.Context) error {
	l.mu.Lock()
	p := l.pub
	first := !l.drained
	l.drained, l.closed = true, true
	l.mu.Unlock()
	if p == nil || !first {
		l.Close()
		return nil
	}
	l.Close()
	if p.eng == nil {
		return nil
	}
	if err := p.eng.SetNodeMetadata(ctx, p.service, p.id, map[string]string{engine.MetaStatus: engine.StatusDraining}); err != nil {
		return fmt.Errorf("zookeeper: balance: drain %q: %w", p.id, err)
	}
	if l.cfg.drainTimeout == 0 {
		return nil
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.drainTimeout)
	defer cancel()
	if err := l.meter.Quiet(ctx, drainQuiet); err != nil {
		p.log.Logf(logger.InfoLevel, "zkbalance: %q draining: %d request(s) still in flight after %v: stopping anyway", p.id, l.meter.InFlight(), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Close stops publishing the load and waits for the goroutine that
// publishes it. It leaves the node's metadata as it is. It is idempotent.
func (l *Load) Close() {
	l.mu.Lock()
	l.closed = true
	p := l.pub
	l.mu.Unlock()
	if p == nil {
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	<-p.done
}

// engineRegistry is what this module's registries, of either go-micro line, offer
// zkbalance.
type engineRegistry interface {
	Engine() *engine.Registry
}

// engineOf returns the engine under r, if r is this module's registry.
func engineOf(r registry.Registry) (*engine.Registry, bool) {
	er, ok := r.(engineRegistry)
	if !ok || er.Engine() == nil {
		return nil, false
	}
	return er.Engine(), true
}

// describe names a registry in a message.
func describe(r registry.Registry) string {
	if r == nil {
		return "(none)"
	}
	return fmt.Sprintf("%q (%T)", r.String(), r)
}
