package configdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// maxRequestBytes is the largest multi request a plan may need. ZooKeeper
// refuses packets larger than its jute.maxbuffer (1 MiB less one byte by
// default). The transaction it logs and forwards to followers holds the
// same operations under a larger header; the 16 KiB of headroom covers that.
const maxRequestBytes = engine.MaxRequestBytes

// Sizes in the jute encoding of a multi request (go-zookeeper's structs.go).
const (
	frameBytes       = 4 + 8     // length prefix, request header (xid, opcode)
	multiHeaderBytes = 4 + 1 + 4 // op type, done flag, error: before each op and once at the end
)

// PlanWrite returns the operations that make the subtree under prefix,
// whose current state is snap, hold the JSON object doc: one
// zk.Conn.Multi(ops...) call applies them atomically. ops are
// *zk.CreateRequest, *zk.SetDataRequest and *zk.DeleteRequest, in an order
// valid within one multi: deletes (children before their parent), then sets,
// then creates (parents before their children). New znodes are persistent;
// each gets the ACL acls says (acl.go): below an existing znode, that
// znode's.
//
// Every set and delete carries the version snap holds, so a concurrent
// change to a znode the plan touches makes the multi fail
// (zk.ErrBadVersion, zk.ErrNodeExists, zk.ErrNotEmpty) instead of being
// overwritten; changes to znodes the plan does not touch are kept.
//
// A missing prefix znode is created (its parent must exist: creating the
// prefix's ancestors is the caller's job); its data is never written. Keys
// missing from doc are deleted, except znodes a reader skips (a name that is
// not a key, data that is not text), which are left alone unless doc puts a
// value at their place or removes their parent. A znode already reading as
// the value doc gives it is not touched, so ops is empty when snap already
// holds doc.
//
// doc that is not UTF-8 JSON, whose top level is not an object, whose
// objects have an empty, "." or ".." key or a key twice, or that needs a
// request larger than maxRequestBytes is refused, and no operation is
// returned; so is a document that would create a key below a znode this
// client cannot read.
func PlanWrite(prefix string, snap *Tree, doc []byte, acls ACLs) ([]any, error) {
	p, err := newPlanner(prefix, snap, acls)
	if err != nil {
		return nil, err
	}
	want, err := parseDocument(doc)
	if err != nil {
		return nil, err
	}
	p.diff("", want)
	return p.ops("the document")
}

// planner accumulates the operations of one PlanWrite.
type planner struct {
	prefix string
	snap   *Tree
	acls   ACLs

	deletes, sets, creates []any
	created                map[string][]zk.ACL // the ACL of each znode created, by rel
	size                   int                 // encoded size of the multi request so far
	err                    error               // why the plan is refused, once it is
}

// newPlanner returns a planner of the subtree under prefix, whose current
// state is snap, giving new znodes the ACLs acls says; it refuses a bad
// prefix or an empty ACL.
func newPlanner(prefix string, snap *Tree, acls ACLs) (*planner, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	if len(acls.New) == 0 {
		return nil, errors.New("zookeeper: config write: no ACL for new znodes")
	}
	return &planner{prefix: prefix, snap: snap, acls: acls, created: map[string][]zk.ACL{}, size: requestBytes(nil)}, nil
}

// ops returns the operations planned, in the order of one multi (deletes,
// sets, creates), nil when there are none, or why the plan is refused: an
// error naming what (the input planned) when they need a request larger
// than maxRequestBytes.
func (p *planner) ops(what string) ([]any, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.size > maxRequestBytes {
		return nil, fmt.Errorf("zookeeper: config write: %s needs a request of more than %d bytes, over ZooKeeper's limit (jute.maxbuffer) less headroom", what, maxRequestBytes)
	}
	ops := slices.Concat(p.deletes, p.sets, p.creates)
	if len(ops) == 0 {
		return nil, nil
	}
	return ops, nil
}

// stopped stops the planning of a request already refused or too large.
func (p *planner) stopped() bool { return p.err != nil || p.size > maxRequestBytes }

// diff plans the znode rel to read as want. The prefix znode ("") always
// stands for an object: want is then a map[string]any. A znode that reads as
// want already is not touched; each znode is judged once, by its own data
// and by what the plan does below it.
func (p *planner) diff(rel string, want any) {
	if p.stopped() {
		return
	}
	switch n := p.snap.nodes[rel]; {
	case n == nil:
		p.create(rel, want)
	case rel == "":
		p.diffChildren(rel, want.(map[string]any))
	case len(n.children) == 0:
		p.diffLeaf(rel, n, want)
	default:
		p.diffParent(rel, n, want)
	}
}

// diffLeaf plans the existing childless znode rel, n, to read as want.
// A znode this client cannot read (n.err) is set whatever it holds, at
// version -1: its version is unknown too.
func (p *planner) diffLeaf(rel string, n *treeNode, want any) {
	if have, err := decodeLeaf(n.data); n.err == nil && err == nil && bytes.Equal(appendJSON(nil, have), appendJSON(nil, want)) {
		return
	}
	if obj, ok := want.(map[string]any); ok && len(obj) > 0 {
		if len(n.data) > 0 {
			p.set(rel, []byte{}, n.version)
		}
		p.diffChildren(rel, obj)
		return
	}
	p.set(rel, leafData(want), n.version)
}

// diffParent plans the existing znode rel, n, which has children, to read
// as want.
func (p *planner) diffParent(rel string, n *treeNode, want any) {
	if obj, ok := want.(map[string]any); ok && (len(obj) > 0 || p.keepsChildren(rel)) {
		// It stays an object of children (those diffChildren leaves
		// alone make even an empty one). Its ignored data is cleared
		// only if the object changes.
		before, setAt := p.planned(), len(p.sets)
		p.diffChildren(rel, obj)
		if p.planned() > before && len(n.data) > 0 {
			p.set(rel, []byte{}, n.version)
			// Keep sets in path order: this one before its children's.
			op := p.sets[len(p.sets)-1]
			p.sets = slices.Insert(p.sets[:len(p.sets)-1], setAt, op)
		}
		return
	}
	// It becomes a leaf.
	for _, name := range p.snap.children(rel) {
		p.deleteTree(childRel(rel, name))
	}
	if data := leafData(want); !bytes.Equal(data, n.data) {
		p.set(rel, data, n.version)
	}
}

// planned is the number of operations planned so far.
func (p *planner) planned() int {
	return len(p.deletes) + len(p.sets) + len(p.creates)
}

// diffChildren plans the existing znode rel to be the object of the keys of
// want: the children no key of want names are deleted unless leftAlone, the
// others are diffed.
func (p *planner) diffChildren(rel string, want map[string]any) {
	for _, name := range p.snap.children(rel) {
		if key, err := keyOfName(name); err == nil {
			if _, ok := want[key]; ok {
				continue
			}
		}
		if !p.leftAlone(childRel(rel, name)) {
			p.deleteTree(childRel(rel, name))
		}
	}
	for _, key := range sortedKeys(want) {
		p.diff(childRel(rel, engine.EscapeSegment(key)), want[key])
	}
}

// leftAlone reports whether the znode rel is one a reader skips, so that a
// writer keeps it when the document says nothing of its place: its name is
// not a key, or it is childless and its data is not text.
func (p *planner) leftAlone(rel string) bool {
	_, name := splitRel(rel)
	if _, err := keyOfName(name); err != nil {
		return true
	}
	return !p.snap.readable(rel)
}

// keepsChildren reports whether the znode rel has a child leftAlone, which
// diffChildren keeps whatever the document.
func (p *planner) keepsChildren(rel string) bool {
	for _, name := range p.snap.children(rel) {
		if p.leftAlone(childRel(rel, name)) {
			return true
		}
	}
	return false
}

// create plans the missing znode rel, and its children, to read as want.
func (p *planner) create(rel string, want any) {
	if p.stopped() {
		return
	}
	obj, isObj := want.(map[string]any)
	if rel != "" && (!isObj || len(obj) == 0) {
		p.addCreate(rel, leafData(want))
		return
	}
	p.addCreate(rel, []byte{})
	for _, key := range sortedKeys(obj) {
		p.create(childRel(rel, engine.EscapeSegment(key)), obj[key])
	}
}

// deleteTree plans the deletion of the znode rel and everything below it.
func (p *planner) deleteTree(rel string) {
	if p.stopped() {
		return
	}
	for _, name := range p.snap.children(rel) {
		p.deleteTree(childRel(rel, name))
	}
	p.deletes = p.add(p.deletes, &zk.DeleteRequest{Path: znodePath(p.prefix, rel), Version: p.snap.nodes[rel].version})
}

// set plans setting the data of the znode rel, read at version.
func (p *planner) set(rel string, data []byte, version int32) {
	p.sets = p.add(p.sets, &zk.SetDataRequest{Path: znodePath(p.prefix, rel), Data: data, Version: version})
}

// addCreate plans creating the znode rel with data, and the ACL newACL
// gives it.
func (p *planner) addCreate(rel string, data []byte) {
	acl, err := p.newACL(rel)
	if err != nil {
		p.err = err
		return
	}
	p.created[rel] = acl
	p.creates = p.add(p.creates, &zk.CreateRequest{Path: znodePath(p.prefix, rel), Data: data, Acl: acl, Flags: zk.FlagPersistent})
}

// add appends op to ops and counts its size.
func (p *planner) add(ops []any, op any) []any {
	p.size += opBytes(op)
	return append(ops, op)
}

// requestBytes is the size on the wire of the multi request made of ops.
func requestBytes(ops []any) int {
	n := frameBytes + multiHeaderBytes
	for _, op := range ops {
		n += opBytes(op)
	}
	return n
}

// opBytes is the size of one operation of a multi request, with its header.
func opBytes(op any) int {
	n := multiHeaderBytes
	switch op := op.(type) {
	case *zk.CreateRequest:
		n += 4 + len(op.Path) + 4 + len(op.Data) + 4 + 4 // path, data, ACL count, flags
		for _, a := range op.Acl {
			n += 4 + 4 + len(a.Scheme) + 4 + len(a.ID)
		}
	case *zk.SetDataRequest:
		n += 4 + len(op.Path) + 4 + len(op.Data) + 4 // path, data, version
	case *zk.DeleteRequest:
		n += 4 + len(op.Path) + 4 // path, version
	}
	return n
}

// leafData is what a childless znode holds to read as v (anything but a
// non-empty object): a string as its raw text unless that text is JSON
// itself, which would read back as another value; anything else as its
// canonical JSON.
func leafData(v any) []byte {
	if s, ok := v.(string); ok {
		if json.Valid([]byte(s)) {
			return appendString(nil, s)
		}
		return []byte(s)
	}
	return appendJSON(nil, v)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ValidateDocument checks a document to write, as PlanWrite does: see
// parseDocument.
func ValidateDocument(doc []byte) error {
	_, err := parseDocument(doc)
	return err
}

// parseDocument decodes a document to write: a UTF-8 JSON object, no
// deeper than encoding/json reads (maxDepth), without escapes of lone
// surrogates (text.go), whose objects (those outside arrays, which become
// znodes) have keys validateKey accepts, each once. Numbers are
// json.Number, kept as written.
func parseDocument(doc []byte) (map[string]any, error) {
	if !utf8.Valid(doc) {
		return nil, errors.New("zookeeper: config document is not UTF-8")
	}
	if err := json.Unmarshal(doc, new(json.RawMessage)); err != nil {
		return nil, fmt.Errorf("zookeeper: config document is not JSON: %w", err)
	}
	if esc, at, ok := loneSurrogate(doc); ok {
		return nil, fmt.Errorf("zookeeper: config document is not text: it holds %s at byte %d, the JSON escape of a lone UTF-16 surrogate, which encoding/json would read as U+FFFD", esc, at)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	v, err := parseValue(dec, nil, true)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("zookeeper: config document is not a JSON object")
	}
	return obj, nil
}

// parseValue decodes the next value of dec, found at the key path path.
// stored tells whether its objects become znodes (they do outside arrays).
func parseValue(dec *json.Decoder, path []string, stored bool) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("zookeeper: config document at %q: %w", path, err)
	}
	switch tok {
	case json.Delim('{'):
		obj := make(map[string]any)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("zookeeper: config document at %q: %w", path, err)
			}
			key, _ := tok.(string) // an object key is always a string
			keyPath := append(slices.Clip(path), key)
			if stored {
				if err := validateKey(key); err != nil {
					return nil, fmt.Errorf("zookeeper: config document at %q: %w", keyPath, err)
				}
				if _, dup := obj[key]; dup {
					return nil, fmt.Errorf("zookeeper: config document at %q: key appears twice", keyPath)
				}
			}
			if obj[key], err = parseValue(dec, keyPath, stored); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, fmt.Errorf("zookeeper: config document at %q: %w", path, err)
		}
		return obj, nil
	case json.Delim('['):
		arr := make([]any, 0)
		for dec.More() {
			v, err := parseValue(dec, path, false)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, fmt.Errorf("zookeeper: config document at %q: %w", path, err)
		}
		return arr, nil
	}
	return tok, nil // string, json.Number, bool or nil
}
