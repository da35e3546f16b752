// Package engine is the ZooKeeper machinery under every face of this
// module: the go-micro v4 registry (the root package), the go-micro v5
// registry (module /v5), the config source (zkconfig), the zkmicro command
// and the metrics collector (zkprom). It imports no go-micro package: it
// deals in its own Service type, field for field go-micro's
// registry.Service, and logs through a small Logger interface. A test
// (nogomicro_test.go) fails if it ever depends on go-micro.
//
// Parts, one file each:
//
//   - config.go, tls.go: Options resolved and validated into a Config.
//   - layout.go: the znode layout, built and parsed in one place; payload.go
//     and decoder.go: the stored JSON. Together they are the compatibility
//     contract with the older plugin.
//   - dial.go, conn.go, reads.go: one ZooKeeper connection (conn), how it
//     is dialled, and the fan-out readers that keep many reads in flight.
//   - events.go, keeper.go: zk's events, queued from its callback to the
//     session keeper, the one goroutine that tracks the session and tells
//     a sessionListener about it.
//   - client.go, group.go: Client, a connection kept with its session, and
//     the group that starts and waits for every goroutine.
//   - owner.go, znodes.go, dirguard.go: the registry's own ephemeral nodes,
//     kept alive across disconnects, expiries and deletions by others.
//   - mirror.go, mirror_sync.go, coldread.go: the watch-fed mirror that
//     answers lookups, and the direct reads used when it cannot.
//   - watcher.go: Watcher, the exact per-node diff of a mirrored view.
//   - registry.go: Registry, which ties them together; metrics.go: its
//     counts; inspect.go: a window on its state for tests.
//   - tree.go, tree_sync.go: Tree, the watched copy of a whole subtree (the
//     config source's), and its worker.
//   - diagnostics.go: the few windows the zkmicro command's doctor and
//     prune need beyond the registry's API.
//
// Goroutines: a Client's group owns all of them. The keeper starts with
// the first connection; the owner's and the mirror's workers start as work
// arrives and end when there is none; Close stops the group, shuts the
// queues, closes the connection, and waits.
//
// Lock order, where two are held at once: owner's ownedNode.write, then
// owner.mu; mirror.mu, then Watcher.mu; Client.mu is never held while
// calling out, nor is Tree.mu. Neither the owner nor the mirror calls the
// other with its lock held.
package engine
