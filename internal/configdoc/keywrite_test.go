package configdoc

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the key writes' plans, applied by the fake multi of multi_test.go.

func TestPlanSetKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes map[string]string // the snapshot, at version 1; nil: missing prefix znode
		path  string            // dotted
		value string
		want  []string // describeOp of each operation, in order
		after string   // the document once applied
	}{
		{
			name:  "missing subtree: prefix and parents created",
			path:  "database.address",
			value: `"10.0.0.7"`,
			want: []string{
				"create /micro-config ",
				"create /micro-config/database ",
				"create /micro-config/database/address 10.0.0.7",
			},
			after: `{"database":{"address":"10.0.0.7"}}`,
		},
		{
			name:  "new key beside others: only its znode",
			nodes: map[string]string{"": "", "/database": "", "/database/port": "3306", "/greeting": "Hi"},
			path:  "database.address",
			value: `"10.0.0.7"`,
			want:  []string{"create /micro-config/database/address 10.0.0.7"},
			after: `{"database":{"address":"10.0.0.7","port":3306},"greeting":"Hi"}`,
		},
		{
			name:  "changed leaf: set at the snapshot's version",
			nodes: map[string]string{"": "", "/database": "", "/database/port": "3306", "/greeting": "Hi"},
			path:  "database.port",
			value: `3307`,
			want:  []string{"set /micro-config/database/port v1 3307"},
			after: `{"database":{"port":3307},"greeting":"Hi"}`,
		},
		{
			name:  "same value: nothing to do",
			nodes: map[string]string{"": "", "/n": " 42 "},
			path:  "n",
			value: `42`,
		},
		{
			name:  "missing parents below an existing one",
			nodes: map[string]string{"": "", "/a": "", "/a/x": "1"},
			path:  "a.b.c",
			value: `{"d":true,"e":[1,2.50]}`,
			want: []string{
				"create /micro-config/a/b ",
				"create /micro-config/a/b/c ",
				"create /micro-config/a/b/c/d true",
				"create /micro-config/a/b/c/e [1,2.50]",
			},
			after: `{"a":{"b":{"c":{"d":true,"e":[1,2.50]}},"x":1}}`,
		},
		{
			name:  "an object value replaces the key's subtree, not its siblings",
			nodes: map[string]string{"": "", "/a": "", "/a/x": "1", "/a/y": "2", "/b": "3"},
			path:  "a",
			value: `{"y":2,"z":3}`,
			want:  []string{"delete /micro-config/a/x v1", "create /micro-config/a/z 3"},
			after: `{"a":{"y":2,"z":3},"b":3}`,
		},
		{
			name:  "a leaf on the way becomes an object",
			nodes: map[string]string{"": "", "/a": "old", "/b": "3"},
			path:  "a.x",
			value: `1`,
			want:  []string{"set /micro-config/a v1 ", "create /micro-config/a/x 1"},
			after: `{"a":{"x":1},"b":3}`,
		},
		{
			name:  "a JSON object on the way keeps its keys",
			nodes: map[string]string{"": "", "/a": `{"y":{"z":1},"w":2}`},
			path:  "a.y.v",
			value: `"s"`,
			want: []string{
				"set /micro-config/a v1 ",
				"create /micro-config/a/w 2",
				"create /micro-config/a/y ",
				"create /micro-config/a/y/v s",
				"create /micro-config/a/y/z 1",
			},
			after: `{"a":{"w":2,"y":{"v":"s","z":1}}}`,
		},
		{
			name:  "string values as Write stores them",
			nodes: map[string]string{"": ""},
			path:  "s",
			value: `"42"`,
			want:  []string{`create /micro-config/s "42"`},
			after: `{"s":"42"}`,
		},
		{
			name:  "keys are escaped",
			nodes: map[string]string{"": ""},
			path:  "a/b",
			value: `"x"`,
			want:  []string{"create /micro-config/a%2Fb x"},
			after: `{"a/b":"x"}`,
		},
		{
			name:  "a skipped znode at the key's place is replaced, others stay",
			nodes: map[string]string{"": "", "/bin": "\xff", "/%41": "bad name"},
			path:  "bin",
			value: `"text"`,
			want:  []string{"set /micro-config/bin v1 text"},
			after: `{"bin":"text"}`,
		},
		{
			name:  "the prefix's data is never written",
			nodes: map[string]string{"": "keep me"},
			path:  "a",
			value: `1`,
			want:  []string{"create /micro-config/a 1"},
			after: `{"a":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := newTree()
			if tt.nodes != nil {
				snap = buildTree(t, tt.nodes)
			}
			path := strings.Split(tt.path, ".")
			ops, err := PlanSetKey(DefaultPrefix, snap, path, []byte(tt.value), testACL)
			require.NoError(t, err)
			assert.Equal(t, tt.want, describeOps(ops))
			if len(ops) == 0 {
				return
			}
			after, err := applyMulti(snap, DefaultPrefix, ops)
			require.NoError(t, err, "the plan applies as one multi")
			assert.Equal(t, tt.after, string(ReadDocument(after).Data))
			again, err := PlanSetKey(DefaultPrefix, after, path, []byte(tt.value), testACL)
			require.NoError(t, err)
			assert.Empty(t, describeOps(again), "setting the same value again")
		})
	}
}

func TestPlanDeleteKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes map[string]string // the snapshot, at version 1; nil: missing prefix znode
		path  string            // dotted
		want  []string          // describeOp of each operation, in order
		after string            // the document once applied
	}{
		{name: "missing subtree: nothing", path: "a"},
		{name: "missing key: nothing", nodes: map[string]string{"": "", "/a": "1"}, path: "b"},
		{name: "missing below a leaf: nothing", nodes: map[string]string{"": "", "/a": "1"}, path: "a.b"},
		{name: "missing inside a JSON object: nothing", nodes: map[string]string{"": "", "/a": `{"x":1}`}, path: "a.y"},
		{
			name:  "a subtree, deepest first, siblings stay",
			nodes: map[string]string{"": "", "/a": "", "/a/b": "", "/a/b/c": "1", "/a/d": "2", "/e": "3"},
			path:  "a",
			want:  []string{"delete /micro-config/a/b/c v1", "delete /micro-config/a/b v1", "delete /micro-config/a/d v1", "delete /micro-config/a v1"},
			after: `{"e":3}`,
		},
		{
			name:  "a key beside others",
			nodes: map[string]string{"": "", "/a": "", "/a/x": "1", "/a/y": "2"},
			path:  "a.x",
			want:  []string{"delete /micro-config/a/x v1"},
			after: `{"a":{"y":2}}`,
		},
		{
			name:  "the last key of an object leaves it empty",
			nodes: map[string]string{"": "", "/a": "", "/a/x": "1", "/b": "2"},
			path:  "a.x",
			want:  []string{"delete /micro-config/a/x v1", "set /micro-config/a v1 {}"},
			after: `{"a":{},"b":2}`,
		},
		{
			name:  "the last key beside skipped znodes",
			nodes: map[string]string{"": "", "/a": "junk", "/a/x": "1", "/a/%41": "bad name"},
			path:  "a.x",
			want:  []string{"delete /micro-config/a/x v1", "set /micro-config/a v1 "},
			after: `{"a":{}}`,
		},
		{
			name:  "the last top-level key",
			nodes: map[string]string{"": "", "/a": "1"},
			path:  "a",
			want:  []string{"delete /micro-config/a v1"},
			after: `{}`,
		},
		{
			name:  "a key inside a JSON object",
			nodes: map[string]string{"": "", "/a": `{"x":{"y":1,"z":2},"w":3}`},
			path:  "a.x.y",
			want:  []string{"set /micro-config/a v1 ", "create /micro-config/a/w 3", "create /micro-config/a/x ", "create /micro-config/a/x/z 2"},
			after: `{"a":{"w":3,"x":{"z":2}}}`,
		},
		{
			name:  "a skipped znode",
			nodes: map[string]string{"": "", "/bin": "\xff", "/k": "1"},
			path:  "bin",
			want:  []string{"delete /micro-config/bin v1"},
			after: `{"k":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := newTree()
			if tt.nodes != nil {
				snap = buildTree(t, tt.nodes)
			}
			path := strings.Split(tt.path, ".")
			ops, err := PlanDeleteKey(DefaultPrefix, snap, path, testACL)
			require.NoError(t, err)
			assert.Equal(t, tt.want, describeOps(ops))
			if len(ops) == 0 {
				return
			}
			after, err := applyMulti(snap, DefaultPrefix, ops)
			require.NoError(t, err, "the plan applies as one multi")
			assert.Equal(t, tt.after, string(ReadDocument(after).Data))
			again, err := PlanDeleteKey(DefaultPrefix, after, path, testACL)
			require.NoError(t, err)
			assert.Empty(t, describeOps(again), "deleting again")
		})
	}
}

// TestPlanKeyMergesWithConcurrentChanges checks that a key write planned on
// a stale snapshot keeps what another writer changed elsewhere since, and
// fails as a whole when the other writer changed its branch.
func TestPlanKeyMergesWithConcurrentChanges(t *testing.T) {
	t.Parallel()
	snap := buildTree(t, map[string]string{"": "", "/a": "", "/a/x": "1", "/b": "2"})
	tests := []struct {
		name    string
		path    string              // dotted
		value   string              // "": a delete
		changed func(t *Tree) error // what another writer did after the snapshot
		want    error               // nil: the multi applies
		after   string
	}{
		{
			name:    "set, another key changed",
			path:    "a.x",
			value:   "5",
			changed: func(t *Tree) error { return t.setNode("/b", []byte("3"), 2) },
			after:   `{"a":{"x":5},"b":3}`,
		},
		{
			name:    "set, a sibling created",
			path:    "a.y",
			value:   "5",
			changed: func(t *Tree) error { return t.setNode("/a/z", []byte("9"), 0) },
			after:   `{"a":{"x":1,"y":5,"z":9},"b":2}`,
		},
		{
			name:    "delete, another key created",
			path:    "b",
			changed: func(t *Tree) error { return t.setNode("/c", []byte("4"), 0) },
			after:   `{"a":{"x":1},"c":4}`,
		},
		{
			name:    "set, the key changed",
			path:    "a.x",
			value:   "5",
			changed: func(t *Tree) error { return t.setNode("/a/x", []byte("7"), 2) },
			want:    zk.ErrBadVersion,
		},
		{
			name:    "set, the key created",
			path:    "a.y.z",
			value:   "5",
			changed: func(t *Tree) error { return t.setNode("/a/y", []byte("7"), 0) },
			want:    zk.ErrNodeExists,
		},
		{
			name:    "delete, the key gained a child",
			path:    "a",
			changed: func(t *Tree) error { return t.setNode("/a/new", nil, 0) },
			want:    zk.ErrNotEmpty,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ops []any
			var err error
			if path := strings.Split(tt.path, "."); tt.value == "" {
				ops, err = PlanDeleteKey(DefaultPrefix, snap, path, testACL)
			} else {
				ops, err = PlanSetKey(DefaultPrefix, snap, path, []byte(tt.value), testACL)
			}
			require.NoError(t, err)
			server := snap.clone()
			require.NoError(t, tt.changed(server))
			after, err := applyMulti(server, DefaultPrefix, ops)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.after, string(ReadDocument(after).Data))
		})
	}
}

// TestPlanSetKeyDepth sets the deepest value that leaves the document
// readable, and reads it back.
func TestPlanSetKeyDepth(t *testing.T) {
	t.Parallel()
	snap := buildTree(t, map[string]string{"": "", "/greeting": "Hi"})
	deepest := strings.Repeat("[", 9997) + strings.Repeat("]", 9997)
	ops, err := PlanSetKey(DefaultPrefix, snap, []string{"a", "b", "c"}, []byte(deepest), testACL)
	require.NoError(t, err)
	after, err := applyMulti(snap, DefaultPrefix, ops)
	require.NoError(t, err)
	doc := ReadDocument(after)
	assert.Empty(t, doc.Skipped)
	var v map[string]any
	require.NoError(t, json.Unmarshal(doc.Data, &v), "encoding/json reads the document")
	assert.Equal(t, "Hi", v["greeting"])
}

func TestPlanKeyRefuses(t *testing.T) {
	t.Parallel()
	snap := buildTree(t, map[string]string{"": "", "/j": `{"":1}`, "/o": `{"x":1}`, "/u": ""})
	snap.nodes["/u"].err = zk.ErrNoAuth
	tests := []struct {
		name  string
		path  []string
		value string // "": a delete
		want  string // in the error
	}{
		{name: "value not JSON", path: []string{"a"}, value: "Hi", want: `value at ["a"] is not JSON`},
		{name: "value not UTF-8", path: []string{"a"}, value: "\"\xff\"", want: "not UTF-8"},
		{name: "two values", path: []string{"a"}, value: "1 2", want: "not JSON"},
		{name: "empty key in the value", path: []string{"a"}, value: `{"b":{"":1}}`, want: `at ["a" "b" ""]: empty key`},
		{name: "duplicate key in the value", path: []string{"a"}, value: `{"b":1,"b":2}`, want: "key appears twice"},
		{name: "too large", path: []string{"a"}, value: `"` + strings.Repeat("x", maxRequestBytes) + `"`, want: "over ZooKeeper's limit"},
		{name: "merge into a stored object with an empty key", path: []string{"j", "k"}, value: "1", want: `at ["j" ""]: empty key`},
		{name: "delete from a stored object with an empty key", path: []string{"j", "k"}, want: ""},
		{name: "lone surrogate in the value", path: []string{"a"}, value: `"\udc00"`, want: `value at ["a"] is not text: it holds \udc00 at byte 1`},
		{name: "lone surrogate in a key of the value", path: []string{"a"}, value: `{"\udbff":1}`, want: `it holds \udbff`},
		{
			// Issue 19: zkmicro config set a.b.c "$(python3 -c "print('['*9998+']'*9998)")"
			name: "deep value at a deep key", path: []string{"a", "b", "c"}, value: strings.Repeat("[", 9998) + strings.Repeat("]", 9998),
			want: `value at ["a" "b" "c"] would make the configuration unreadable: value nested too deep: nested 9998 deep inside 3 objects, the document would nest 10001 levels`,
		},
		{name: "deep value inside a stored object", path: []string{"o", "k"}, value: strings.Repeat("[", 9999) + strings.Repeat("]", 9999), want: "the document would nest 10001 levels"},
		{name: "set through an unreadable znode", path: []string{"u", "k"}, value: "1", want: "/micro-config/u: not readable"},
		{name: "delete through an unreadable znode", path: []string{"u", "k"}, want: "/micro-config/u: not readable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ops []any
			var err error
			if tt.value == "" {
				ops, err = PlanDeleteKey(DefaultPrefix, snap, tt.path, testACL)
			} else {
				ops, err = PlanSetKey(DefaultPrefix, snap, tt.path, []byte(tt.value), testACL)
			}
			if tt.want == "" {
				require.NoError(t, err, "a missing key: nothing to do")
				assert.Empty(t, ops)
				return
			}
			require.Error(t, err)
			assert.Nil(t, ops)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
