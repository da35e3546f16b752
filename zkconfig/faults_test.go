package zkconfig

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// TestChangeWhileCutOffPastTheSessionTimeout cuts a source off from
// ZooKeeper until its session expires, changes the configuration
// meanwhile, and heals: the change reaches go-micro's config and the
// source's watchers once the source is back, in one change set; a
// reconnection that changed nothing delivers nothing.
func TestChangeWhileCutOffPastTheSessionTimeout(t *testing.T) {
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/micro-config/greeting", "Hi")
	put(t, c, "/micro-config/other", "1")
	proxy, err := faultproxy.New(srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })

	// Long enough to outlast zk's one-second pause before it reconnects
	// (the second half of the test keeps its session), short enough to
	// expire quickly behind the partition (the first half).
	src := newSource(t, WithAddress(proxy.Addr), SessionTimeout(3*time.Second))
	conf := newConfig(t, src)
	require.Equal(t, "Hi", configValue(t, conf, "greeting").String("Hello"))
	w := watch(t, src)
	tree := src.(*zkSource).tree
	sid := tree.SessionID()
	require.NotZero(t, sid)

	proxy.Partition()
	zktest.Eventually(t, 15*time.Second, func() bool { return !srv.SessionAlive(sid) }, "the server never expired the session")
	put(t, c, "/micro-config/greeting", "Changed while cut off")
	require.NoError(t, c.Delete("/micro-config/other", -1))
	put(t, c, "/micro-config/new", "true")
	proxy.Heal()

	assert.Equal(t, `{"greeting":"Changed while cut off","new":true}`, nextData(t, w), "everything that changed, at once")
	assert.NotEqual(t, sid, tree.SessionID(), "a new session")
	zktest.Eventually(t, 15*time.Second, func() bool {
		return configValue(t, conf, "greeting").String("Hello") == "Changed while cut off"
	}, "go-micro's config never got the change")

	// Reconnected in the same session, nothing changed: nothing is
	// delivered. The next change set is the next change.
	sid, rounds := tree.SessionID(), tree.Stats().Rounds
	proxy.Cut()
	zktest.Eventually(t, 15*time.Second, func() bool {
		return tree.Stats().Rounds > rounds && read(t, src) != ""
	}, "the source never read again after reconnecting")
	assert.Equal(t, sid, tree.SessionID(), "the same session")
	put(t, c, "/micro-config/greeting", "after the reconnection")
	assert.Equal(t, `{"greeting":"after the reconnection","new":true}`, nextData(t, w))
}
