package zkbalance

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"
	"go-micro.dev/v4/transport"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// A go-micro service with Publish publishes its load once started, and
// when it stops gracefully, its node is published as draining while its
// last request runs, and deregistered once it ends.
func TestPublishDrainsTheNodeWhenTheServiceStops(t *testing.T) {
	zk := zktest.Start(t)
	reg := newRegistry(t, zk.Addr)
	release := make(chan struct{})
	var entered atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := micro.NewService(
		micro.Name(service), micro.Address("127.0.0.1:0"), micro.Context(ctx), micro.HandleSignal(false),
		micro.Registry(newRegistry(t, zk.Addr)),
		micro.Broker(broker.NewMemoryBroker()), micro.Transport(transport.NewHTTPTransport()),
		Publish(Interval(100*time.Millisecond)),
	)
	require.NoError(t, svc.Server().Handle(svc.Server().NewHandler(&Blocker{entered: &entered, release: release})))
	// Run starts the service, and stops it (Stop) once ctx ends.
	stop := make(chan error, 1)
	go func() { stop <- svc.Run() }()
	stopped := false
	t.Cleanup(func() {
		cancel()
		if !stopped {
			<-stop
		}
	})
	id := service + "-" + svc.Server().Options().Id
	zktest.WaitFor(t, zkTimeout, "the load published", func() error {
		if _, ok := nodeMetadata(t, reg, id)[engine.MetaLoad]; !ok {
			return registry.ErrNotFound
		}
		return nil
	})

	// A request in flight, then the stop.
	sel := selector.NewSelector(selector.Registry(reg))
	c := newClient(t, reg, sel)
	called := make(chan error, 1)
	go func() {
		called <- c.Call(context.Background(), c.NewRequest(service, "Blocker.Do", &Request{}, client.WithContentType("application/json")), &Response{})
	}()
	zktest.Eventually(t, zkTimeout, func() bool { return entered.Load() == 1 }, "the request never arrived")
	cancel()
	zktest.WaitFor(t, zkTimeout, "the node draining", func() error {
		if nodeMetadata(t, reg, id)[engine.MetaStatus] != engine.StatusDraining {
			return registry.ErrNotFound
		}
		return nil
	})
	select {
	case err := <-stop:
		t.Fatalf("the service stopped (%v) with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-called, "the request in flight is answered")
	select {
	case err := <-stop:
		stopped = true
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not stop once its request ended")
	}
	zktest.Eventually(t, zkTimeout, func() bool {
		_, err := reg.GetService(service)
		return errors.Is(err, registry.ErrNotFound)
	}, "the node is never deregistered")
}

// Blocker's requests wait until released.
type Blocker struct {
	entered *atomic.Int64
	release chan struct{}
}

// Do waits for the release.
func (b *Blocker) Do(ctx context.Context, _ *Request, _ *Response) error {
	b.entered.Add(1)
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// With a registry that is not this module's, a Load counts but writes
// nothing, and Drain does not wait.
func TestLoadWithAnotherRegistryPublishesNothing(t *testing.T) {
	mem := registry.NewMemoryRegistry()
	l := NewLoad(Interval(10 * time.Millisecond))
	srv := server.NewRPCServer(server.Name(service), server.Address("127.0.0.1:0"), server.Registry(mem),
		server.Broker(broker.NewMemoryBroker()), server.Transport(transport.NewHTTPTransport()),
		server.WrapHandler(l.HandlerWrapper()))
	require.NoError(t, srv.Handle(srv.NewHandler(&Blocker{entered: new(atomic.Int64), release: make(chan struct{})})))
	require.NoError(t, srv.Start())
	defer func() { _ = srv.Stop() }()
	require.NoError(t, l.Start(srv))
	require.Nil(t, l.pub.eng, "nothing to publish to: no goroutine")
	svcs, err := mem.GetService(service)
	require.NoError(t, err)
	assert.NotContains(t, svcs[0].Nodes[0].Metadata, engine.MetaLoad)

	// Drain returns at once although a request is in flight: nothing told
	// the clients to go elsewhere.
	l.meter.Begin()
	defer l.meter.End()
	start := time.Now()
	require.NoError(t, l.Drain(context.Background()))
	assert.Less(t, time.Since(start), DefaultDrainTimeout/2)
	assert.ErrorIs(t, l.Start(srv), ErrClosed)
}

// go-micro deregisters a node whose RegisterCheck fails and registers it
// again later, which forgets its metadata: the load comes back at the next
// refresh, without a change of load.
func TestLoadIsRestoredAfterGoMicroRegistersTheNodeAgain(t *testing.T) {
	zk := zktest.Start(t)
	s := startServer(t, zk.Addr, "a", time.Millisecond, 1, []Option{Interval(50 * time.Millisecond)})
	reg := newRegistry(t, zk.Addr)
	s.load.Close()
	// A Load of its own, refreshing often, in place of the server's.
	l := NewLoad(Interval(50 * time.Millisecond))
	l.cfg.refresh = 200 * time.Millisecond
	require.NoError(t, l.Start(s.srv))
	t.Cleanup(l.Close)
	zktest.WaitFor(t, zkTimeout, "the load published", func() error {
		if nodeMetadata(t, reg, s.id)[engine.MetaLoad] != "0" {
			return registry.ErrNotFound
		}
		return nil
	})

	rpc := s.srv.(interface {
		Register() error
		Deregister() error
	})
	require.NoError(t, rpc.Deregister())
	require.NoError(t, rpc.Register())
	zktest.WaitFor(t, zkTimeout, "the load back", func() error {
		if nodeMetadata(t, reg, s.id)[engine.MetaLoad] != "0" {
			return registry.ErrNotFound
		}
		return nil
	})
}
