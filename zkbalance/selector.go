package zkbalance

import (
	"sync"

	"go-micro.dev/v4/errors"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	"github.com/zkmicro/zookeeper/internal/balance"
)

var _ selector.Selector = (*zkSelector)(nil)

// zkSelector is go-micro's registry selector with LeastLoaded, the
// client's own requests in flight, and the ejection of failing nodes. See
// NewSelector.
type zkSelector struct {
	inner    selector.Selector
	inFlight balance.InFlight

	mu       sync.RWMutex      // guards the fields below (Init changes them)
	strategy selector.Strategy // given with selector.SetStrategy; nil: least loaded, with the client's requests in flight
	eject    ejectConfig
	ejector  *balance.Ejector
	log      logger.Logger
}

// NewSelector returns a go-micro selector that wraps go-micro's own
// (selector.NewSelector: its registry cache, fed by the registry's
// watcher, and its filters) with three things:
//
//   - Its default strategy is LeastLoaded, comparing for each node the
//     larger of its published load and the requests this client has in
//     flight to it (counted from the pick until go-micro's client calls
//     Mark): a client learns of its own requests at once, of the others' an
//     Interval later. selector.SetStrategy, or selector.WithStrategy for one
//     Select, replaces it.
//   - Mark ejects a node after Failures (3) consecutive failed requests:
//     this client sends it nothing for Backoff (10 s), then lets it back;
//     another run of failures before any success ejects it for twice as
//     long, up to MaxBackoff (2 min). So a failing node stops receiving
//     this client's traffic without a registry change. When every node of
//     a service is ejected, they are all chosen from, as if none were.
//   - Reset(service) forgets the service's ejections.
//
// Options: go-micro's selector.Registry (default registry.DefaultRegistry),
// selector.SetStrategy, selector.WithLogger (ejections are logged at info
// level), and this package's Failures, Backoff and MaxBackoff. Use it as
// a go-micro client's selector:
//
//	client.NewClient(client.Selector(zkbalance.NewSelector(selector.Registry(reg))))
//
// or micro.Selector(...) for a service.
func NewSelector(opts ...selector.Option) selector.Selector {
	var given selector.Options
	for _, opt := range opts {
		opt(&given)
	}
	s := &zkSelector{inner: selector.NewSelector(opts...), strategy: given.Strategy}
	s.configure(s.inner.Options())
	return s
}

// configure applies the options of the package found in o (the inner
// selector's, which hold every option given so far). Ejections are
// forgotten only when the ejection options change. s.mu is held, or s is
// new.
func (s *zkSelector) configure(o selector.Options) {
	if c := ejectConfigOf(o.Context); s.ejector == nil || c != s.eject {
		s.eject = c
		s.ejector = balance.NewEjector(c.failures, c.backoff, c.maxBackoff)
	}
	s.log = o.Logger
	if s.log == nil {
		s.log = logger.DefaultLogger
	}
}

// Init applies options, as go-micro's selector does (it starts its cache
// over). Ejection options that change the configuration forget the
// ejections so far.
func (s *zkSelector) Init(opts ...selector.Option) error {
	if err := s.inner.Init(opts...); err != nil {
		return err
	}
	var given selector.Options
	for _, opt := range opts {
		opt(&given)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if given.Strategy != nil {
		s.strategy = given.Strategy
	}
	s.configure(s.inner.Options())
	return nil
}

// Options returns the options in use; Strategy is the one in use
// (LeastLoaded unless another was given).
func (s *zkSelector) Options() selector.Options {
	o := s.inner.Options()
	s.mu.RLock()
	o.Strategy = s.strategy
	s.mu.RUnlock()
	if o.Strategy == nil {
		o.Strategy = LeastLoaded()
	}
	return o
}

// Select returns the service's nodes' Next, by the strategy (see
// NewSelector), without the ejected nodes.
func (s *zkSelector) Select(service string, opts ...selector.SelectOption) (selector.Next, error) {
	var so selector.SelectOptions
	for _, opt := range opts {
		opt(&so)
	}
	s.mu.RLock()
	ejector := s.ejector
	strategy := s.strategy
	s.mu.RUnlock()
	if so.Strategy != nil {
		strategy = so.Strategy
	}
	if strategy == nil {
		strategy = func(services []*registry.Service) selector.Next {
			return leastLoaded(services, func(n *registry.Node) int { return s.inFlight.Get(nodeKey(service, n.Id)) })
		}
	}
	all := append(opts[:len(opts):len(opts)], selector.WithFilter(withoutEjected(ejector, service)), selector.WithStrategy(strategy))
	next, err := s.inner.Select(service, all...)
	if err != nil {
		return nil, err
	}
	return func() (*registry.Node, error) {
		n, err := next()
		if err == nil && n != nil {
			s.inFlight.Add(nodeKey(service, n.Id))
		}
		return n, err
	}, nil
}

// withoutEjected is the filter that leaves out the service's nodes that
// ejector ejected, unless that leaves none.
func withoutEjected(ejector *balance.Ejector, service string) selector.Filter {
	return func(services []*registry.Service) []*registry.Service {
		if !ejector.Any() {
			return services
		}
		kept := make([]*registry.Service, 0, len(services))
		ejected := false
		for _, svc := range services {
			if svc == nil {
				continue
			}
			nodes := make([]*registry.Node, 0, len(svc.Nodes))
			for _, n := range svc.Nodes {
				if n != nil && ejector.Ejected(nodeKey(service, n.Id)) {
					ejected = true
					continue
				}
				nodes = append(nodes, n)
			}
			if len(nodes) > 0 {
				c := *svc
				c.Nodes = nodes
				kept = append(kept, &c)
			}
		}
		if !ejected || len(kept) == 0 {
			return services
		}
		return kept
	}
}

// Mark records the result of a request to node: the end of a request in
// flight, and a success or a failure (see Failures) for the ejection.
func (s *zkSelector) Mark(service string, node *registry.Node, err error) {
	if node == nil {
		return
	}
	key := nodeKey(service, node.Id)
	s.inFlight.Done(key)
	s.mu.RLock()
	ejector, log := s.ejector, s.log
	s.mu.RUnlock()
	if d := ejector.Report(key, isFailure(err)); d > 0 {
		log.Logf(logger.InfoLevel, "zkbalance: node %q of %q ejected for %v after consecutive failures, the last: %v", node.Id, service, d, err)
	}
	s.inner.Mark(service, node, err)
}

// Reset forgets the ejections of the service's nodes.
func (s *zkSelector) Reset(service string) {
	s.mu.RLock()
	ejector := s.ejector
	s.mu.RUnlock()
	ejector.Forget(nodeKey(service, ""))
	s.inner.Reset(service)
}

// Close stops go-micro's selector (its registry cache).
func (s *zkSelector) Close() error { return s.inner.Close() }

// String returns "zkbalance".
func (s *zkSelector) String() string { return "zkbalance" }

// nodeKey names node id of service in the ejector and the in-flight
// counts.
func nodeKey(service, id string) string { return service + "\x00" + id }

// isFailure reports whether err, the result of a request, counts against
// the node: any error but a go-micro error with a 4xx code other than 408
// and 429, which is the caller's.
func isFailure(err error) bool {
	if err == nil {
		return false
	}
	code := errors.FromError(err).Code
	return code < 400 || code >= 500 || code == 408 || code == 429
}
