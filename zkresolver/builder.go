package zkresolver

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/resolver"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// Scheme is the resolver's URI scheme: targets are zookeeper:///SERVICE.
const Scheme = "zookeeper"

// ErrNotZooKeeper is returned, wrapped with the registry's name and type,
// by a Builder's Build when the registry given to NewBuilder is not one
// this module made.
var ErrNotZooKeeper = errors.New("zookeeper: resolver: not a registry of this module (github.com/zkmicro/zookeeper)")

// engineRegistry is what this module's registries (go-micro v4 and v5)
// offer beside go-micro's interface.
type engineRegistry interface {
	Engine() *engine.Registry
}

// NewBuilder returns a grpc resolver builder of scheme Scheme over reg, a
// registry this module made: zookeeper.NewRegistry of
// github.com/zkmicro/zookeeper (go-micro v4) or of
// github.com/zkmicro/zookeeper/v5 (go-micro v5), or the one go-micro picks
// with --registry=zookeeper. Its resolvers use reg's session and mirror: a
// watch of the service, no session of their own and no polling. Any other
// registry (go-micro's memory or mdns registry, or nil) is accepted here
// and refused by Build with ErrNotZooKeeper, which grpc returns to the
// calls on the channel.
//
// Give it to one channel with grpc.WithResolvers, or to every channel
// with resolver.Register at init. Closing reg ends its resolvers' watches:
// their channels then fail calls, saying the registry is closed.
func NewBuilder(reg interface{ String() string }) resolver.Builder {
	if e, ok := reg.(engineRegistry); ok && e.Engine() != nil {
		return &builder{reg: e.Engine()}
	}
	return &builder{err: fmt.Errorf("%w: %s", ErrNotZooKeeper, describe(reg))}
}

// describe names a registry in an error.
func describe(reg interface{ String() string }) string {
	if reg == nil {
		return "the registry is nil"
	}
	return fmt.Sprintf("the registry is %q (%T)", reg.String(), reg)
}

// builder is the resolver.Builder NewBuilder returns.
type builder struct {
	reg *engine.Registry
	err error // why reg is nil
}

// Scheme returns Scheme.
func (b *builder) Scheme() string { return Scheme }

// Build starts a resolver of target on the builder's registry. It fails
// for a target other than zookeeper:///SERVICE[?version=VERSION] and for a
// registry that is not this module's. It does not block: the resolver
// watches the service in the background and reports its nodes to cc, or
// why it cannot (see the package documentation).
func (b *builder) Build(t resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	if b.err != nil {
		return nil, b.err
	}
	tgt, err := parseTarget(t)
	if err != nil {
		return nil, err
	}
	return startResolver(b.reg, tgt, cc), nil
}
