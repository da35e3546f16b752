package configdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// This file plans the write of one key of the configuration, for tools
// (zkmicro config set and delete, through zkconfig's SetKey and DeleteKey)
// that change a key without replacing the whole document as a Write does.

// ValidatePath checks a key path: at least one key, each one validateKey
// accepts.
func ValidatePath(path []string) error {
	if len(path) == 0 {
		return fmt.Errorf("zookeeper: config key: empty key path")
	}
	for i, key := range path {
		if err := validateKey(key); err != nil {
			return fmt.Errorf("zookeeper: config key %q: %w", path[:i+1], err)
		}
	}
	return nil
}

// ValidateValue checks a value to store at the key path path, as
// PlanSetKey does: see parseKeyValue.
func ValidateValue(path []string, value []byte) error {
	_, err := parseKeyValue(path, value)
	return err
}

// parseKeyValue decodes a value to store at the key path path: one UTF-8
// JSON value whose objects (outside arrays) have keys validateKey accepts,
// each once, without escapes of lone surrogates, as in a document
// (parseDocument), and that leaves the document readable at its place:
// nested, with the len(path) objects enclosing it, no deeper than maxDepth.
// Numbers are json.Number.
func parseKeyValue(path []string, value []byte) (any, error) {
	if !utf8.Valid(value) {
		return nil, fmt.Errorf("zookeeper: config value at %q is not UTF-8", path)
	}
	if err := json.Unmarshal(value, new(json.RawMessage)); err != nil {
		return nil, fmt.Errorf("zookeeper: config value at %q is not JSON: %w", path, err)
	}
	if esc, at, ok := loneSurrogate(value); ok {
		return nil, fmt.Errorf("zookeeper: config value at %q is not text: it holds %s at byte %d, the JSON escape of a lone UTF-16 surrogate, which encoding/json would read as U+FFFD", path, esc, at)
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	v, err := parseValue(dec, path, true)
	if err != nil {
		return nil, err
	}
	if err := tooDeep(len(path), nesting(v)); err != nil {
		return nil, fmt.Errorf("zookeeper: config value at %q would make the configuration unreadable: %w", path, err)
	}
	return v, nil
}

// PlanSetKey returns the operations of one multi that make the key at path
// (valid, see ValidatePath) of the subtree under prefix, whose current
// state is snap, hold the JSON value value, touching only the key's
// branch: the znodes on the way to it (created when missing) and the
// key's own subtree, planned as PlanWrite plans a document (new znodes
// get their parent's ACL, see acl.go). See zkconfig.SetKey.
func PlanSetKey(prefix string, snap *Tree, path []string, value []byte, acls ACLs) ([]any, error) {
	p, err := newPlanner(prefix, snap, acls)
	if err != nil {
		return nil, err
	}
	want, err := parseKeyValue(path, value)
	if err != nil {
		return nil, err
	}
	if err := p.setKey(path, want); err != nil {
		return nil, err
	}
	return p.ops(fmt.Sprintf("the value at %q", path))
}

// PlanDeleteKey returns the operations of one multi that remove the key at
// path (valid, see ValidatePath) from the subtree under prefix, whose
// current state is snap, touching only the key's branch; none when the key
// does not exist. See zkconfig.DeleteKey.
func PlanDeleteKey(prefix string, snap *Tree, path []string, acls ACLs) ([]any, error) {
	p, err := newPlanner(prefix, snap, acls)
	if err != nil {
		return nil, err
	}
	if err := p.deleteKey(path); err != nil {
		return nil, err
	}
	return p.ops(fmt.Sprintf("deleting %q", path))
}

// setKey plans the key at path to read as want. It walks down the znodes
// that stand for objects (the prefix, znodes with children); the first
// key whose znode is missing is created with the rest of the path as
// nested objects, and a childless znode on the way becomes an object
// holding the rest of the path, merged into the object its data holds, if
// it holds one.
func (p *planner) setKey(path []string, want any) error {
	if p.snap.nodes[""] == nil {
		p.create("", nestValue(path, want))
		return nil
	}
	rel := ""
	for i, key := range path {
		child, rest := childRel(rel, engine.EscapeSegment(key)), path[i+1:]
		n := p.snap.nodes[child]
		switch {
		case len(rest) == 0:
			p.diff(child, want)
		case n == nil:
			p.create(child, nestValue(rest, want))
		case n.err != nil:
			return unreadableKey(p.prefix, path[:i+1], child, n.err)
		case len(n.children) > 0:
			rel = child
			continue
		default:
			obj := leafObject(n)
			setIn(obj, rest, want)
			if err := p.diffMerged(path[:i+1], child, obj); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// deleteKey plans the removal of the key at path and everything below it.
// A key that does not exist plans nothing. When the key is the last one
// of its object, the object is planned to read as {} (a childless znode
// with no data would read as "").
func (p *planner) deleteKey(path []string) error {
	if p.snap.nodes[""] == nil {
		return nil
	}
	rel := ""
	for i, key := range path {
		child, rest := childRel(rel, engine.EscapeSegment(key)), path[i+1:]
		n := p.snap.nodes[child]
		switch {
		case n == nil:
		case len(rest) == 0:
			if rel != "" && p.onlyKey(rel, child) {
				p.diff(rel, map[string]any{})
			} else {
				p.deleteTree(child)
			}
		case n.err != nil:
			return unreadableKey(p.prefix, path[:i+1], child, n.err)
		case len(n.children) > 0:
			rel = child
			continue
		default:
			if obj := leafObject(n); deleteIn(obj, rest) {
				if err := p.diffMerged(path[:i+1], child, obj); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return nil
}

// diffMerged plans the childless znode rel, found at the key path path,
// to read as obj: the object its data held, with a key set or removed.
// The keys obj kept from the data must be keys a document can store.
func (p *planner) diffMerged(path []string, rel string, obj map[string]any) error {
	if _, err := parseKeyValue(path, appendJSON(nil, obj)); err != nil {
		return err
	}
	p.diff(rel, obj)
	return nil
}

// onlyKey reports whether child is the only child of rel that a reader
// reads as a key (the others, if any, are leftAlone).
func (p *planner) onlyKey(rel, child string) bool {
	for _, name := range p.snap.children(rel) {
		if c := childRel(rel, name); c != child && !p.leftAlone(c) {
			return false
		}
	}
	return true
}

// unreadableKey is the refusal to write through a znode this client may
// not read: its children, hence what the write would change, are unknown.
func unreadableKey(prefix string, path []string, rel string, err error) error {
	return fmt.Errorf("zookeeper: config key %q: znode %s: %w: %v", path, znodePath(prefix, rel), errUnreadable, err)
}

// leafObject returns the object the data of the childless znode n holds: a
// new map, empty when the data is not a JSON object.
func leafObject(n *treeNode) map[string]any {
	if v, err := decodeLeaf(n.data); err == nil {
		if obj, ok := v.(map[string]any); ok {
			return obj
		}
	}
	return map[string]any{}
}

// nestValue returns v nested in objects, one per key of path (not empty):
// nestValue(["a", "b"], 1) is {"a":{"b":1}}.
func nestValue(path []string, v any) map[string]any {
	for i := len(path) - 1; i > 0; i-- {
		v = map[string]any{path[i]: v}
	}
	return map[string]any{path[0]: v}
}

// setIn sets the key path (not empty) of obj to v, replacing what is on
// the way and is not an object with objects.
func setIn(obj map[string]any, path []string, v any) {
	for _, key := range path[:len(path)-1] {
		next, ok := obj[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[key] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = v
}

// deleteIn removes the key path (not empty) from obj, and reports whether
// it was there.
func deleteIn(obj map[string]any, path []string) bool {
	for _, key := range path[:len(path)-1] {
		next, ok := obj[key].(map[string]any)
		if !ok {
			return false
		}
		obj = next
	}
	last := path[len(path)-1]
	if _, ok := obj[last]; !ok {
		return false
	}
	delete(obj, last)
	return true
}
