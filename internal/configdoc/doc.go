// Package configdoc is the part of the config source that knows no
// go-micro: how a ZooKeeper subtree reads as one JSON document, and how a
// document, or one key, is written back as the operations of one atomic
// multi. Both config faces, zkconfig (go-micro v4) and module v5's zkconfig
// (go-micro v5), are thin conversions of go-micro's types over it and the
// engine's Tree. The layout and the values it reads and writes are a
// compatibility contract, documented once, in zkconfig's package
// documentation.
//
// Parts, one file each:
//
//   - layout.go: the prefix, its default and its validation, and the full
//     path of a znode below it.
//   - keys.go: configuration keys and the znode names that stand for them
//     (the engine's EscapeSegment).
//   - text.go: keys and values are text: JSON escapes of lone surrogates
//     are refused.
//   - depth.go: a value never nests the document deeper than encoding/json
//     reads.
//   - tree.go: Tree, a snapshot of the subtree (TreeOf an engine snapshot).
//   - document.go: ReadDocument, a Tree as a canonical JSON Document, with
//     what it leaves out and why.
//   - plan.go: PlanWrite, the multi that makes a subtree hold a document,
//     within ZooKeeper's request size.
//   - acl.go: ACLs, the ACL of the znodes a plan creates: a new key takes
//     its parent's.
//   - keywrite.go: PlanSetKey and PlanDeleteKey, the multi that changes one
//     key's branch and leaves the others alone.
//
// Everything here is pure: no session, no goroutine. Its tests are table
// tests, a fake multi (multi_test.go) and fuzz targets over untrusted znode
// data.
package configdoc
