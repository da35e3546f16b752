// Package zkresolver is a grpc-go name resolver over this module's
// ZooKeeper registry: plain grpc clients (gateways, jobs, services of other
// frameworks) dial the services that go-micro services, or the zkmicro
// register sidecar, registered.
//
//	reg := zookeeper.NewRegistry(registry.Addrs("zk1:2181", "zk2:2181"))
//	conn, err := grpc.NewClient("zookeeper:///greeter",
//		grpc.WithResolvers(zkresolver.NewBuilder(reg)),
//		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
//		grpc.WithTransportCredentials(creds))
//
// The registry may be go-micro v4's (github.com/zkmicro/zookeeper) or v5's
// (github.com/zkmicro/zookeeper/v5): the package imports no go-micro
// package. Its resolvers share the registry's session and mirror.
//
// # Targets
//
// zookeeper:///SERVICE resolves to every node of SERVICE, of any version;
// zookeeper:///SERVICE?version=VERSION to the nodes of that version only.
// Anything else (a host, no service, another query parameter, an empty or
// repeated version) is refused when grpc builds the resolver, and grpc
// fails the channel's calls with the reason.
//
// # What grpc is given
//
// One endpoint per node, sorted by node id, with the node (a Node, read
// with NodeFromEndpoint) in the endpoint's Attributes, and grpc's endpoint
// weight (google.golang.org/grpc/experimental/balancer/weight) set from
// the node's MetaWeight; State.Addresses lists the same addresses, the
// Node in their BalancerAttributes (NodeFromAddress). Address.Attributes
// stay empty.
//
// Nodes whose MetaStatus is StatusDraining are left out while any other
// node of the target serves; when all are draining, all are given (they
// still answer). A service without nodes gives an empty list, which makes
// grpc's balancers drop their connections, followed by an error saying
// the service has no nodes.
//
// # Changes and failures
//
// Each resolver watches its service in the registry's mirror and pushes
// every change to grpc as the watch reports it: a node registered,
// updated, deregistered, or gone when its process's session expired. While
// ZooKeeper cannot be reached, grpc keeps the last list; when the watch
// fails, the error is reported to grpc (which keeps using the last list)
// and the resolver watches again after 100ms, doubling up to 10s. After
// a session expiry or a partition, the resolver converges on the nodes
// ZooKeeper holds, and never reports the nodes this process registered
// through the same registry as gone (the registry restores them before its
// watchers look). Closing the registry ends the resolvers' watches: they
// give grpc an empty list and an error saying the registry is closed.
// ResolveNow does nothing.
//
// # Balancers
//
// Use round_robin for services with several nodes: it connects to every
// node given and spreads calls over those that are ready, follows each
// change at once, and ignores weights. pick_first keeps one connection,
// to the first node it can reach, and moves only when that node leaves
// the list or fails; with {"shuffleAddressList":true} each client picks
// its own, at random in proportion to the nodes' weights. pick_first also
// shows the resolver's errors in the calls it fails (round_robin says "no
// children to pick from").
//
// README.md beside this file is the manual, with the figures of the
// benchmark.
package zkresolver
