package configdoc

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildTree records the znodes of nodes (rel -> data) in path order, each at
// version 1. A nil map gives a missing subtree.
func buildTree(t testing.TB, nodes map[string]string) *Tree {
	t.Helper()
	tr := newTree()
	for _, rel := range slices.Sorted(maps.Keys(nodes)) { // parents first
		require.NoError(t, tr.setNode(rel, []byte(nodes[rel]), 1), rel)
	}
	return tr
}

func TestTreeSetNode(t *testing.T) {
	tr := newTree()
	_, _, ok := tr.lookup("")
	assert.False(t, ok, "a new tree has no prefix znode")

	err := tr.setNode("/a", []byte("x"), 0)
	require.Error(t, err, "a child before its parent")
	assert.Contains(t, err.Error(), "zookeeper: config snapshot: parent of")

	require.NoError(t, tr.setNode("", nil, 0))
	require.NoError(t, tr.setNode("/a", nil, 3))
	require.NoError(t, tr.setNode("/a/b", []byte("1"), 7))
	require.NoError(t, tr.setNode("/a/c", []byte("2"), 0))
	assert.Equal(t, []string{"a"}, tr.children(""))
	assert.Equal(t, []string{"b", "c"}, tr.children("/a"))

	data := []byte("new")
	require.NoError(t, tr.setNode("/a", data, 4))
	data[0] = 'X' // the tree keeps its own copy
	got, version, ok := tr.lookup("/a")
	require.True(t, ok)
	assert.Equal(t, "new", string(got))
	assert.Equal(t, int32(4), version)
	assert.Equal(t, []string{"b", "c"}, tr.children("/a"), "setting data keeps the children")
}

func TestTreeSetNodeRejectsBadPaths(t *testing.T) {
	tr := buildTree(t, map[string]string{"": "", "/a": ""})
	for _, rel := range []string{"a", "/", "/a/", "//a", "/a//b"} {
		err := tr.setNode(rel, nil, 0)
		require.Error(t, err, rel)
		assert.Contains(t, err.Error(), "bad relative path")
	}
}

func TestTreeRemoveNode(t *testing.T) {
	tr := buildTree(t, map[string]string{"": "", "/a": "", "/a/b": "1", "/a/b/c": "2", "/d": "3"})
	tr.removeNode("/a")
	for _, rel := range []string{"/a", "/a/b", "/a/b/c"} {
		_, _, ok := tr.lookup(rel)
		assert.False(t, ok, rel)
	}
	assert.Equal(t, []string{"d"}, tr.children(""))
	tr.removeNode("/missing") // no-op
	tr.removeNode("")
	assert.Empty(t, tr.nodes)
}

func TestTreeRetainChildren(t *testing.T) {
	tr := buildTree(t, map[string]string{"": "", "/a": "", "/a/x": "1", "/b": "2"})
	missing := tr.retainChildren("", []string{"c", "b", "e"})
	assert.Equal(t, []string{"c", "e"}, missing)
	assert.Equal(t, []string{"b"}, tr.children(""))
	_, _, ok := tr.lookup("/a/x")
	assert.False(t, ok, "a forgotten child goes with its subtree")
	assert.Nil(t, tr.retainChildren("/nope", []string{"x"}))
	assert.Empty(t, tr.retainChildren("", []string{"b"}))
}

func TestTreeClone(t *testing.T) {
	tr := buildTree(t, map[string]string{"": "", "/a": "1"})
	c := tr.clone()
	require.NoError(t, c.setNode("/b", []byte("2"), 0))
	require.NoError(t, c.setNode("/a", []byte("changed"), 2))
	assert.Equal(t, []string{"a"}, tr.children(""))
	data, version, _ := tr.lookup("/a")
	assert.Equal(t, "1", string(data))
	assert.Equal(t, int32(1), version)
}
