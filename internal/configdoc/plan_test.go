package configdoc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanWrite(t *testing.T) {
	tests := []struct {
		name  string
		nodes map[string]string // the snapshot, at version 1; nil: missing prefix znode
		doc   string
		want  []string // describeOp of each operation, in order
	}{
		{
			name: "missing subtree: prefix and parents first",
			doc:  `{"greeting":"Hi","database":{"address":"10.0.0.7","port":3306}}`,
			want: []string{
				"create /micro-config ",
				"create /micro-config/database ",
				"create /micro-config/database/address 10.0.0.7",
				"create /micro-config/database/port 3306",
				"create /micro-config/greeting Hi",
			},
		},
		{name: "missing subtree, empty document", doc: `{}`, want: []string{"create /micro-config "}},
		{name: "empty subtree, empty document", nodes: map[string]string{"": ""}, doc: `{}`},
		{
			name:  "same content: nothing to do",
			nodes: map[string]string{"": "", "/a": "", "/a/b": "1", "/c": "Hi"},
			doc:   `{"c":"Hi","a":{"b":1}}`,
		},
		{
			name:  "equal values as stored differently: nothing to do",
			nodes: map[string]string{"": "", "/n": " 42 ", "/o": `{"y":[1, 2], "x":1}`, "/q": `"Hi"`, "/e": "{ }"},
			doc:   `{"n":42,"o":{"x":1,"y":[1,2]},"q":"Hi","e":{}}`,
		},
		{
			name:  "changed leaf: set at the snapshot's version",
			nodes: map[string]string{"": "", "/a": "1", "/b": "2"},
			doc:   `{"a":1,"b":3}`,
			want:  []string{"set /micro-config/b v1 3"},
		},
		{
			name:  "missing keys: deleted deepest first",
			nodes: map[string]string{"": "", "/a": "", "/a/b": "", "/a/b/c": "1", "/a/d": "2", "/e": "3"},
			doc:   `{"e":3}`,
			want: []string{
				"delete /micro-config/a/b/c v1",
				"delete /micro-config/a/b v1",
				"delete /micro-config/a/d v1",
				"delete /micro-config/a v1",
			},
		},
		{
			name:  "leaf to object",
			nodes: map[string]string{"": "", "/a": "old"},
			doc:   `{"a":{"x":1,"y":{"z":true}}}`,
			want: []string{
				"set /micro-config/a v1 ",
				"create /micro-config/a/x 1",
				"create /micro-config/a/y ",
				"create /micro-config/a/y/z true",
			},
		},
		{
			name:  "object to leaf",
			nodes: map[string]string{"": "", "/a": "", "/a/x": "1", "/a/y": "", "/a/y/z": "2"},
			doc:   `{"a":[1]}`,
			want: []string{
				"delete /micro-config/a/x v1",
				"delete /micro-config/a/y/z v1",
				"delete /micro-config/a/y v1",
				"set /micro-config/a v1 [1]",
			},
		},
		{
			name:  "object to empty object",
			nodes: map[string]string{"": "", "/a": "", "/a/x": "1"},
			doc:   `{"a":{}}`,
			want:  []string{"delete /micro-config/a/x v1", "set /micro-config/a v1 {}"},
		},
		{
			name:  "object to empty string",
			nodes: map[string]string{"": "", "/a": "", "/a/x": "1"},
			doc:   `{"a":""}`,
			want:  []string{"delete /micro-config/a/x v1"},
		},
		{
			name: "leaf encodings",
			doc: `{"s":"Hi","j":"42","t":"true","q":"\"x\"","arr":"[1]","sp":" 7 ","empty":"","e":{},"n":null,` +
				`"f":false,"num":1.50e+3,"list":[1,{"b":1,"a":"<&>"}],"nl":"a\nb"}`,
			nodes: map[string]string{"": ""},
			want: []string{
				`create /micro-config/arr "[1]"`,
				"create /micro-config/e {}",
				"create /micro-config/empty ",
				"create /micro-config/f false",
				`create /micro-config/j "42"`,
				`create /micro-config/list [1,{"a":"<&>","b":1}]`,
				"create /micro-config/n null",
				"create /micro-config/nl a\nb",
				"create /micro-config/num 1.50e+3",
				`create /micro-config/q "\"x\""`,
				"create /micro-config/s Hi",
				`create /micro-config/sp " 7 "`,
				`create /micro-config/t "true"`,
			},
		},
		{
			name:  "keys are escaped",
			nodes: map[string]string{"": ""},
			doc:   `{"a/b":1,"100%":2,"...":3,"a.b":4,"tab\t":5}`,
			want: []string{
				"create /micro-config/... 3",
				"create /micro-config/100%25 2",
				"create /micro-config/a.b 4", // in the order of the keys
				"create /micro-config/a%2Fb 1",
				"create /micro-config/tab%09 5",
			},
		},
		{
			name:  "znodes a reader skips are left alone",
			nodes: map[string]string{"": "", "/%41": "bad name", "/100%": "zkCli", "/bin": "\xff", "/p": "", "/p/%2E": "x", "/p/k": "1"},
			doc:   `{"A":1,"p":{}}`,
			want:  []string{"delete /micro-config/p/k v1", "create /micro-config/A 1"},
		},
		{
			name:  "an empty object that keeps skipped children stays a znode with children",
			nodes: map[string]string{"": "", "/p": "junk", "/p/%2E": "x", "/p/k": "1"},
			doc:   `{"p":{}}`,
			want:  []string{"delete /micro-config/p/k v1", "set /micro-config/p v1 "},
		},
		{
			name:  "a value where a skipped znode is replaces it, equal values stay",
			nodes: map[string]string{"": "", "/bin": "\xff", "/dir": "\xfe", "/dir/x": "1"},
			doc:   `{"bin":"text","dir":{"x":1}}`,
			// /dir already reads as {"x":1}: its ignored data stays
			want: []string{"set /micro-config/bin v1 text"},
		},
		{
			name:  "removing a parent removes what a reader skips below it",
			nodes: map[string]string{"": "", "/p": "", "/p/%41": "bad name", "/p/bin": "\xff", "/q": ""},
			doc:   `{"q":""}`,
			want:  []string{"delete /micro-config/p/%41 v1", "delete /micro-config/p/bin v1", "delete /micro-config/p v1"},
		},
		{
			name:  "a leaf replacing a parent removes what a reader skips below it",
			nodes: map[string]string{"": "", "/p": "", "/p/%41": "bad name"},
			doc:   `{"p":"leaf"}`,
			want:  []string{"delete /micro-config/p/%41 v1", "set /micro-config/p v1 leaf"},
		},
		{
			name:  "ignored data of a changed object is cleared",
			nodes: map[string]string{"": "", "/p": "junk", "/p/a": "1"},
			doc:   `{"p":{"a":2}}`,
			want:  []string{"set /micro-config/p v1 ", "set /micro-config/p/a v1 2"},
		},
		{
			name:  "data of the prefix znode is never written",
			nodes: map[string]string{"": "keep me"},
			doc:   `{"a":1}`,
			want:  []string{"create /micro-config/a 1"},
		},
		{
			name:  "keys inside arrays are data",
			nodes: map[string]string{"": ""},
			doc:   `{"a":[{"":1,".":2,"x":1,"x":3}]}`,
			want:  []string{`create /micro-config/a [{"":1,".":2,"x":3}]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := newTree()
			if tt.nodes != nil {
				snap = buildTree(t, tt.nodes)
			}
			ops, err := PlanWrite(DefaultPrefix, snap, []byte(tt.doc), testACL)
			require.NoError(t, err)
			assert.Equal(t, tt.want, describeOps(ops))

			after, err := applyMulti(snap, DefaultPrefix, ops)
			require.NoError(t, err, "the plan applies as one multi")
			assertHolds(t, after, tt.doc)
		})
	}
}

// assertHolds checks that the snapshot reads as doc, up to JSON
// normalization, and that writing doc to it again changes nothing.
func assertHolds(t *testing.T, snap *Tree, doc string) {
	t.Helper()
	want, err := parseDocument([]byte(doc))
	require.NoError(t, err)
	require.Equal(t, string(appendJSON(nil, want)), string(ReadDocument(snap).Data), "read after write")
	again, err := PlanWrite(DefaultPrefix, snap, []byte(doc), testACL)
	require.NoError(t, err)
	require.Empty(t, describeOps(again), "writing the same document again")
}

func TestPlanWriteDetails(t *testing.T) {
	snap := buildTree(t, map[string]string{"": "", "/a": "1", "/b": ""})
	snap.nodes["/a"].version = 7
	snap.nodes["/b"].version = 9
	acl := zk.DigestACL(zk.PermAll, "user", "secret")
	ops, err := PlanWrite("/apps/prod", snap, []byte(`{"a":2,"c":3}`), ACLs{New: acl})
	require.NoError(t, err)
	require.Len(t, ops, 3)

	del, ok := ops[0].(*zk.DeleteRequest)
	require.True(t, ok, "%T", ops[0])
	assert.Equal(t, zk.DeleteRequest{Path: "/apps/prod/b", Version: 9}, *del)
	set, ok := ops[1].(*zk.SetDataRequest)
	require.True(t, ok, "%T", ops[1])
	assert.Equal(t, zk.SetDataRequest{Path: "/apps/prod/a", Data: []byte("2"), Version: 7}, *set)
	create, ok := ops[2].(*zk.CreateRequest)
	require.True(t, ok, "%T", ops[2])
	assert.Equal(t, zk.CreateRequest{Path: "/apps/prod/c", Data: []byte("3"), Acl: acl, Flags: zk.FlagPersistent}, *create)
}

// TestPlanWriteFailsOnConcurrentChange checks that a plan made from a stale
// snapshot fails as a whole instead of overwriting a newer change.
func TestPlanWriteFailsOnConcurrentChange(t *testing.T) {
	snap := buildTree(t, map[string]string{"": "", "/a": "1", "/b": "", "/b/x": "1"})
	tests := []struct {
		name    string
		doc     string
		changed func(t *Tree) // what another writer did after the snapshot
		want    error
	}{
		{"set of a changed znode", `{"a":2,"b":{"x":1}}`, func(t *Tree) { t.nodes["/a"].version++ }, zk.ErrBadVersion},
		{"delete of a changed znode", `{"a":1}`, func(t *Tree) { t.nodes["/b/x"].version++ }, zk.ErrBadVersion},
		{"delete of a znode that gained a child", `{"a":1}`, func(t *Tree) { _ = t.setNode("/b/new", nil, 0) }, zk.ErrNotEmpty},
		{"create of a znode created since", `{"a":1,"b":{"x":1},"c":1}`, func(t *Tree) { _ = t.setNode("/c", nil, 0) }, zk.ErrNodeExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := PlanWrite(DefaultPrefix, snap, []byte(tt.doc), testACL)
			require.NoError(t, err)
			server := snap.clone()
			tt.changed(server)
			_, err = applyMulti(server, DefaultPrefix, ops)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestPlanWriteRefuses(t *testing.T) {
	empty := buildTree(t, map[string]string{"": ""})
	big := strings.Repeat("x", maxRequestBytes)
	tests := []struct {
		name   string
		prefix string
		doc    string
		acl    []zk.ACL
		want   string // in the error
	}{
		{name: "not UTF-8", doc: "{\"a\":\"\xff\"}", want: "not UTF-8"},
		{name: "empty input", doc: "", want: "not JSON"},
		{name: "broken JSON", doc: `{"a":`, want: "not JSON"},
		{name: "trailing data", doc: `{} {}`, want: "not JSON"},
		{name: "array at top level", doc: `[1]`, want: "not a JSON object"},
		{name: "null at top level", doc: `null`, want: "not a JSON object"},
		{name: "string at top level", doc: `"a"`, want: "not a JSON object"},
		{name: "empty key", doc: `{"":1}`, want: `at [""]: empty key`},
		{name: "empty nested key", doc: `{"a":{"b":{"":1}}}`, want: `at ["a" "b" ""]: empty key`},
		{name: "dot key", doc: `{".":1}`, want: `key "." is reserved`},
		{name: "dot dot key", doc: `{"a":{"..":1}}`, want: `key ".." is reserved`},
		{name: "duplicate key", doc: `{"a":1,"a":2}`, want: `at ["a"]: key appears twice`},
		{name: "duplicate nested key", doc: `{"a":{"b":1,"b":{}}}`, want: `at ["a" "b"]: key appears twice`},
		{name: "lone surrogate in a value", doc: `{"a":"x\udc00"}`, want: `not text: it holds \udc00 at byte 7, the JSON escape of a lone UTF-16 surrogate`},
		{name: "lone surrogate in a key", doc: `{"a":{"\ud800":1}}`, want: `it holds \ud800 at byte 7`},
		{name: "lone surrogate in an array", doc: `{"a":[{"b":"\udfff"}]}`, want: `it holds \udfff`},
		{name: "deeper than encoding/json reads", doc: `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, want: "exceeded max depth"},
		{name: "larger than a request", doc: `{"a":"` + big + `"}`, want: "over ZooKeeper's limit"},
		{name: "many keys larger than a request", doc: manyKeys(60000), want: "over ZooKeeper's limit"},
		{name: "bad prefix", prefix: "micro-config", doc: `{}`, want: "config prefix"},
		{name: "root prefix", prefix: "/", doc: `{}`, want: "config prefix"},
		{name: "no ACL", doc: `{}`, acl: []zk.ACL{}, want: "no ACL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix, acl := tt.prefix, tt.acl
			if prefix == "" {
				prefix = DefaultPrefix
			}
			if acl == nil {
				acl = testACL.New
			}
			ops, err := PlanWrite(prefix, empty, []byte(tt.doc), ACLs{New: acl})
			require.Error(t, err)
			assert.Nil(t, ops)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// manyKeys is a document of n small keys.
func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"key-%d":1`, i)
	}
	b.WriteString("}")
	return b.String()
}

// TestPlanWriteSizeLimit checks the limit at its edge: one value that just
// fits, and one byte more.
func TestPlanWriteSizeLimit(t *testing.T) {
	snap := buildTree(t, map[string]string{"": ""})
	// Everything in the request but the value's bytes.
	overhead := requestBytes([]any{&zk.CreateRequest{Path: DefaultPrefix + "/k", Acl: testACL.New}})
	fits := strings.Repeat("x", maxRequestBytes-overhead)

	ops, err := PlanWrite(DefaultPrefix, snap, []byte(`{"k":"`+fits+`"}`), testACL)
	require.NoError(t, err)
	require.Len(t, ops, 1)
	assert.Equal(t, maxRequestBytes, requestBytes(ops))

	_, err = PlanWrite(DefaultPrefix, snap, []byte(`{"k":"`+fits+`x"}`), testACL)
	require.ErrorContains(t, err, "over ZooKeeper's limit")
}
