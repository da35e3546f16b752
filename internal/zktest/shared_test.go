package zktest

import (
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSharedGivesEachTestItsOwnNamespaceOnOneServer(t *testing.T) {
	a, b := Shared(t), Shared(t)
	assert.Equal(t, a.ServerAddr, b.ServerAddr, "one server")
	assert.NotEqual(t, a.Root, b.Root)
	assert.True(t, strings.HasPrefix(a.Root, "/TestSharedGivesEachTestItsOwnNamespaceOnOneServer-"), a.Root)
	assert.Equal(t, a.ServerAddr+a.Root, a.Addr, "a chroot address")
	assert.Equal(t, a.Root, a.Path("/"))
	assert.Equal(t, a.Root+"/cfg/k", a.Path("/cfg/k"))

	c, _, err := zk.Connect([]string{a.ServerAddr}, 10*time.Second, zk.WithLogger(quietZK{}))
	require.NoError(t, err)
	defer c.Close()
	for _, ns := range []*Namespace{a, b} {
		data, stat, err := c.Get(ns.Root)
		require.NoError(t, err, "the namespace's znode exists")
		assert.Empty(t, data)
		assert.Zero(t, stat.NumChildren)
	}
	_, err = c.Create(a.Path("/k"), []byte("1"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	ok, _, err := c.Exists(b.Path("/k"))
	require.NoError(t, err)
	assert.False(t, ok, "namespaces do not see each other's znodes")

	other, _, err := zk.Connect([]string{b.ServerAddr}, 10*time.Second, zk.WithLogger(quietZK{}))
	require.NoError(t, err)
	_, _, err = other.Exists("/")
	require.NoError(t, err)
	sid := other.SessionID()
	assert.True(t, b.SessionAlive(sid))
	other.Close()
	Eventually(t, 10*time.Second, func() bool { return !b.SessionAlive(sid) }, "session 0x%x still alive after Close", sid)
}

func TestNamespaceConnTakesTheNamespacesPaths(t *testing.T) {
	ns := Shared(t)
	c := ns.Connect(t)
	p, err := c.Create("/a", []byte("1"), zk.FlagSequence, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	assert.Regexp(t, `^/a\d{10}$`, p, "the path created, in the namespace")
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/b", Data: []byte("2"), Acl: zk.WorldACL(zk.PermAll)},
		&zk.SetDataRequest{Path: p, Data: []byte("3"), Version: -1},
	)
	require.NoError(t, err)
	assert.Equal(t, "/b", res[0].String)
	kids, _, err := c.Children("/")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{p[1:], "b"}, kids)

	raw, _, err := c.Raw.Get(ns.Root + p)
	require.NoError(t, err, "on the server, under the namespace's root")
	assert.Equal(t, "3", string(raw))
	_, err = c.Multi(&zk.CreateRequest{Path: "/c"}, "not a request")
	require.Error(t, err)
}
