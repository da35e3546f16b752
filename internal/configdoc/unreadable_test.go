package configdoc

import (
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// unreadableTree is a subtree holding a znode this client may not read, as
// the engine reports it.
func unreadableTree() *Tree {
	return TreeOf(&engine.TreeSnapshot{Root: DefaultPrefix, Nodes: map[string]*engine.TreeNode{
		"":        {Children: []string{"open", "secret"}},
		"/open":   {Data: []byte("1"), Version: 3},
		"/secret": {Version: -1, Err: zk.ErrNoAuth},
	}})
}

func TestTreeOfAnEngineSnapshot(t *testing.T) {
	tr := unreadableTree()
	assert.Equal(t, []string{"open", "secret"}, tr.children(""))
	data, version, ok := tr.lookup("/open")
	require.True(t, ok)
	assert.Equal(t, "1", string(data))
	assert.Equal(t, int32(3), version)
	assert.ErrorIs(t, tr.nodes["/secret"].err, zk.ErrNoAuth)
	assert.ErrorIs(t, tr.clone().nodes["/secret"].err, zk.ErrNoAuth, "a clone keeps it")
}

func TestUnreadableZnodes(t *testing.T) {
	tr := unreadableTree()
	doc := ReadDocument(tr)
	assert.Equal(t, `{"open":1}`, string(doc.Data))
	require.Len(t, doc.Skipped, 1)
	assert.Equal(t, "/secret", doc.Skipped[0].rel)
	assert.ErrorIs(t, doc.Skipped[0].reason, errUnreadable)
	assert.Contains(t, doc.Skipped[0].Describe(DefaultPrefix), "/micro-config/secret: not readable: zk: not authenticated")

	// Writing back what was read leaves it alone.
	ops, err := PlanWrite(DefaultPrefix, tr, doc.Data, testACL)
	require.NoError(t, err)
	assert.Empty(t, describeOps(ops))

	// A document that gives it a value sets it unconditionally: its
	// version is unknown (ZooKeeper refuses if its ACL does not grant
	// WRITE).
	ops, err = PlanWrite(DefaultPrefix, tr, []byte(`{"open":1,"secret":""}`), testACL)
	require.NoError(t, err)
	assert.Equal(t, []string{"set /micro-config/secret v-1 "}, describeOps(ops))

	// Removing its parent deletes it, unconditionally too.
	tr = TreeOf(&engine.TreeSnapshot{Root: DefaultPrefix, Nodes: map[string]*engine.TreeNode{
		"":            {Children: []string{"dir"}},
		"/dir":        {Children: []string{"secret"}},
		"/dir/secret": {Version: -1, Err: zk.ErrNoAuth},
	}})
	ops, err = PlanWrite(DefaultPrefix, tr, []byte(`{}`), testACL)
	require.NoError(t, err)
	assert.Equal(t, []string{"delete /micro-config/dir/secret v-1", "delete /micro-config/dir v0"}, describeOps(ops))
}

// A key below a znode this client cannot read would take an ACL nobody
// knows: nothing is created there.
func TestNothingIsCreatedBelowAnUnreadableZnode(t *testing.T) {
	tr := unreadableTree()
	ops, err := PlanWrite(DefaultPrefix, tr, []byte(`{"open":1,"secret":{"k":1}}`), testACL)
	require.Error(t, err)
	assert.Nil(t, ops)
	assert.Contains(t, err.Error(), "zookeeper: config write: cannot create /micro-config/secret/k: its parent is not readable to this client (zk: not authenticated)")
	ops, err = PlanWrite(DefaultPrefix, tr, []byte(`{"open":1,"secret":{"k":1}}`), ACLs{New: creatorACL, Private: true})
	require.NoError(t, err, "Private: creator-only, whatever the parent")
	assert.Equal(t, map[string][]zk.ACL{"/micro-config/secret/k": creatorACL}, createdACLs(ops))
}
