// Package engine is the ZooKeeper machinery under every face of this
// module: the go-micro v4 registry (the root package), the go-micro v5
// registry (module /v5), the config source (zkconfig), the zkmicro command
// and the metrics collector (zkprom). It imports no go-micro package: it
// deals in its own Service type, field for field go-micro's
// registry.Service, and logs through a small Logger interface. A test
// (nogomicro_test.go) fails if it ever depends on go-micro.
//
// A process holds one ZooKeeper session however many faces it uses: a
// Client is that session, and a Registry and any number of Trees are built
// on one (a Registry makes its own and owns it; Trees share it, see
// NewTree).
//
// Parts, one file each:
//
//   - config.go, tls.go: Options resolved and validated into a Config.
//   - layout.go: the znode layout, built and parsed in one place; payload.go
//     and decoder.go: the stored JSON. Together they are the compatibility
//     contract with the older plugin. curator.go: Apache Curator's service
//     discovery layout and JSON, the contract with Java services.
//     format.go: a layout with its codec, what an owner and a mirror work
//     in (ours always, Curator's when the options ask).
//   - dial.go, dialcancel.go, conn.go, reads.go: one ZooKeeper connection
//     (conn), how it is dialled, and the fan-out readers that keep many
//     reads in flight.
//   - events.go, keeper.go: zk's events, queued from its callback to the
//     session keeper, the one goroutine that tracks the session and tells
//     the sessionListeners attached to the client about it.
//   - client.go, group.go: Client, a connection kept with its session, and
//     the goroutine groups that start, stop and wait for the goroutines of
//     the client and of what is built on it.
//   - owner.go, znodes.go, dirguard.go: the registry's own ephemeral nodes,
//     kept alive across disconnects, expiries and deletions by others.
//     nodemeta.go: node metadata the registry sets by itself (soft load
//     balancing's load, weight and status; an operator's drain).
//   - watchwork.go, reads.go: what the two watch-fed caches share: work
//     marked by watch events, and the one fan-out reader.
//   - mirror.go, mirror_sync.go, mappool.go, coldread.go: the watch-fed
//     mirror that answers lookups (its metadata maps interned), and the
//     direct reads used when it cannot.
//   - restore.go: what happens to the owner and the mirror when a new
//     session replaces an expired one, in one place.
//   - watcher.go: Watcher, the exact per-node diff of a mirrored view.
//   - registry.go: Registry, which ties them together; metrics.go: its
//     counts.
//   - tree.go, tree_sync.go, tree_guard.go: Tree, the watched copy of a
//     whole subtree (the config source's), its worker, and its refusal of
//     a subtree others may change.
//   - diagnostics.go: the named calls the zkmicro command's doctor and
//     prune need beyond the registry's API (no raw zk.Conn leaves the
//     engine).
//
// Goroutines: a Client's group owns the keeper; a Registry's child group
// owns the owner's and the mirror's workers (they start as work arrives
// and end when there is none), its evictor and its restores; each Tree's
// child group owns its worker. Closing the client stops them all and waits
// for them; closing a Tree stops its own. Two kinds of short-lived
// goroutines are not in a group: a conn's call and fan-out goroutines,
// which end when ZooKeeper answers or the connection closes (conn.close
// waits for them), and the one draining zk's event channel until zk
// closes it.
//
// Lock order, where two are held at once: owner's ownedNode.write, then
// owner.mu; mirror.mu, then Watcher.mu; Client.mu is never held while
// calling out (the keeper reads a snapshot of the listeners), nor is
// Tree.mu or restorer.mu. Neither the owner nor the mirror calls the other
// with its lock held.
package engine
