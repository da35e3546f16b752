// Package zkbalance is soft load balancing for go-micro (go-micro.dev/v4)
// services registered in ZooKeeper with github.com/zkmicro/zookeeper:
// servers publish how busy they are in their node's metadata, clients pick
// the less loaded of two nodes drawn at random, and an operator drains a
// node (zkmicro drain) without restarting it.
//
// Servers publish their load with Publish (or a Load, for a server built
// by hand):
//
//	service := micro.NewService(micro.Name("greeter"), zkbalance.Publish())
//
// Clients choose with LeastLoaded, as the strategy of go-micro's selector,
// or with NewSelector, which adds the client's own requests in flight and
// ejects nodes that keep failing:
//
//	service := micro.NewService(micro.Selector(zkbalance.NewSelector()))
//
// # The conventions
//
// Three node metadata keys, a compatibility contract any client may read
// (kazoo included; see docs/compatibility.md):
//
//	load    how busy the node is: a decimal >= 0, lower is less busy; here the
//	        mean number of requests in flight over the last Interval
//	weight  the node's share of traffic relative to the others: a decimal > 0,
//	        1 when absent (set it with go-micro's server metadata, or the
//	        sidecar's --weight)
//	status  "draining": send the node no new requests; any other value, or
//	        none, means it serves
//
// A load or weight that does not parse counts as absent (load 0, weight 1).
//
// # How often a server writes
//
// A server offers its load once per Interval (1 s): the mean number of
// requests in flight over the interval, rounded to one decimal. It is
// written to ZooKeeper only when it differs from the load written last by
// at least half a request and by at least 20% of it, or when it drops to 0
// (the first one is always written). So a node costs ZooKeeper at most one
// write per Interval however busy it is, and none while its load holds
// steady. The write goes through the registry's own session (the engine's
// SetNodeMetadata), which keeps the load across go-micro's periodic
// re-registration and restores it after a session expiry. Only this
// module's ZooKeeper registry is written to: with any other registry the
// server counts but publishes nothing.
//
// # Draining
//
// A node whose status is "draining" gets no new requests from clients
// using LeastLoaded while another node of the service is available (a
// draining node is chosen only when all are). zkmicro drain SERVICE NODE
// sets it and zkmicro undrain SERVICE NODE removes it, whoever registered
// the node, and the server that owns the node keeps the operator's choice
// (the registry adopts a change of its node's status, and restores any
// other change); with credentials, only the credentials that registered
// the node may (WRITE on its znode). Clients learn of it by their registry
// watch, within milliseconds. A server stopping through Publish drains its
// own node first, then waits for its requests (Load.Drain).
//
// The manual, with the figures, is zkbalance/README.md
// (https://github.com/zkmicro/zookeeper/blob/main/zkbalance/README.md).
package zkbalance
