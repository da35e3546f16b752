// Package balance is the soft load balancing of this module without
// go-micro: the node metadata conventions read as numbers (metadata.go),
// the count of the requests a server handles (meter.go), the rule that
// decides which loads are worth a ZooKeeper write (gate.go), the power of
// two random choices (choose.go), the ejection of failing nodes
// (eject.go) and a client's own count of its requests in flight
// (inflight.go).
//
// The go-micro faces (zkbalance, for go-micro v4 and v5) adapt it to
// go-micro's selector and server; the zkmicro sidecar publishes a load
// with the same rule. The conventions themselves (the metadata keys and
// what their values mean) are the engine's: engine.MetaLoad,
// engine.MetaWeight, engine.MetaStatus and engine.StatusDraining, documented
// in docs/compatibility.md.
package balance
