package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// The configuration as the config commands see it: the JSON object a
// config source reads, addressed by key paths, and the changes between two
// of its versions.

// parseKeyPath splits a dotted KEY ("database.address") into the key path
// go-micro's config takes (conf.Get("database", "address")). ok is false
// when a key of the path is empty.
func parseKeyPath(key string) (path []string, ok bool) {
	path = strings.Split(key, ".")
	for _, k := range path {
		if k == "" {
			return nil, false
		}
	}
	return path, true
}

// keyName is the dotted KEY of path, "" for the whole configuration.
func keyName(path []string) string { return strings.Join(path, ".") }

// isJSONObject reports whether raw, valid JSON, is an object.
func isJSONObject(raw []byte) bool {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// lookupKey returns the value at path in the JSON document doc (all of it
// for an empty path), as it is written there; ok is false when there is
// none.
func lookupKey(doc []byte, path []string) (value json.RawMessage, ok bool) {
	value = doc
	for _, key := range path {
		var obj map[string]json.RawMessage
		if !isJSONObject(value) || json.Unmarshal(value, &obj) != nil {
			return nil, false
		}
		if value, ok = obj[key]; !ok {
			return nil, false
		}
	}
	return value, true
}

// configLeaf is a value of a configuration that is not a non-empty object,
// at its key path.
type configLeaf struct {
	path  []string
	value json.RawMessage // compact JSON
}

// flattenConfig returns the leaves of the JSON document doc, sorted by
// path: its values that are not objects, and its empty objects, each at
// its key path. A document that is not an object is one leaf at the empty
// path.
func flattenConfig(doc []byte) []configLeaf {
	var leaves []configLeaf
	var walk func(path []string, raw json.RawMessage)
	walk = func(path []string, raw json.RawMessage) {
		var obj map[string]json.RawMessage
		if isJSONObject(raw) && json.Unmarshal(raw, &obj) == nil && (len(obj) > 0 || len(path) == 0) {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(append(slices.Clip(path), k), obj[k])
			}
			return
		}
		leaves = append(leaves, configLeaf{path: path, value: compactJSON(raw)})
	}
	walk(nil, doc)
	return leaves
}

// compactJSON is raw without insignificant space (raw itself if it is not
// valid JSON).
func compactJSON(raw []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return slices.Clone(raw)
	}
	return b.Bytes()
}

// Actions of a configChange, as the registry's watcher names them.
const (
	actionCreate = "create"
	actionUpdate = "update"
	actionDelete = "delete"
)

// configChange is one leaf that differs between two versions of a
// configuration.
type configChange struct {
	action string
	path   []string
	value  json.RawMessage // the new value; for a delete, the value it had
}

// diffConfig returns the changes from the leaves before to the leaves
// after (both sorted by path, as flattenConfig returns them) at or below
// the key path under, sorted by path.
func diffConfig(before, after []configLeaf, under []string) []configChange {
	var changes []configChange
	add := func(action string, l configLeaf) {
		if len(l.path) >= len(under) && slices.Equal(l.path[:len(under)], under) {
			changes = append(changes, configChange{action: action, path: l.path, value: l.value})
		}
	}
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		switch {
		case j == len(after) || i < len(before) && slices.Compare(before[i].path, after[j].path) < 0:
			add(actionDelete, before[i])
			i++
		case i == len(before) || slices.Compare(before[i].path, after[j].path) > 0:
			add(actionCreate, after[j])
			j++
		default:
			if !bytes.Equal(before[i].value, after[j].value) {
				add(actionUpdate, after[j])
			}
			i++
			j++
		}
	}
	return changes
}
