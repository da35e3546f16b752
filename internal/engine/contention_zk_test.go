package engine

// Contention for one node id against real ZooKeeper: two live owners, and
// an owner restoring what others delete. The owner's unit tests over an
// in-memory ZooKeeper are in owner_test.go.

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Two live registrations of one service and node id (a copy-pasted
// config, a fixed server id during a rolling restart) must not replace
// each other forever: the newcomer takes the node over once, the other
// yields, logs it, and its Register fails while the newcomer lives; when
// the newcomer goes, the node comes back to the other. ZooKeeper sees a
// bounded number of writes (issue: "Two live owners of one node id fight
// forever").
func TestTwoLiveOwnersOfOneNodeDoNotFight(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	logA := &logRecorder{}
	a := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Logger: logA})
	b := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	sa, sb := svc("dup", "1", "n1"), svc("dup", "1", "n1")
	sa.Nodes[0].Address, sb.Nodes[0].Address = "10.0.0.1:1", "10.0.0.2:1"
	const p = "/micro-registry/dup/n1"

	require.NoError(t, a.Register(ctx, sa))
	zktest.Eventually(t, 10*time.Second, func() bool { return peekConfirmed(a, "dup", "n1") }, "A's node never confirmed")
	require.NoError(t, b.Register(ctx, sb), "the newcomer takes the node over")
	zktest.Eventually(t, 10*time.Second, func() bool { return len(logA.matching("taken over")) > 0 }, "A never noticed its node was taken")

	// Both re-register, as go-micro does every 30 s (here every 50 ms).
	before := zxidOf(t, srv)
	deadline := time.Now().Add(3 * time.Second)
	var aErr error
	for time.Now().Before(deadline) {
		aErr = a.Register(ctx, sa)
		require.NoError(t, b.Register(ctx, sb))
		time.Sleep(50 * time.Millisecond)
	}
	writes := zxidOf(t, srv) - before
	t.Logf("writes to ZooKeeper in 3 s of both registering: %d", writes)
	assert.LessOrEqual(t, writes, int64(2), "ZooKeeper sees a bounded number of writes")

	require.Error(t, aErr, "the registration that lost the node fails while the other lives")
	assert.Contains(t, aErr.Error(), "held by another live session")
	assert.Contains(t, aErr.Error(), "0x"+strconv.FormatInt(peekSessionID(b), 16))
	lost := logA.matching("taken over")
	require.Len(t, lost, 1, "logged once")
	assert.Contains(t, lost[0], "error ")
	assert.Contains(t, lost[0], p)
	assert.Contains(t, lost[0], "0x"+strconv.FormatInt(peekSessionID(b), 16))
	data, st, err := raw.Get(p)
	require.NoError(t, err)
	assert.Equal(t, peekSessionID(b), st.EphemeralOwner)
	assert.Contains(t, string(data), "10.0.0.2:1")

	// The newcomer goes: A, still registered, has its node back.
	require.NoError(t, b.Close())
	zktest.Eventually(t, 10*time.Second, func() bool {
		data, st, err := raw.Get(p)
		return err == nil && st.EphemeralOwner == peekSessionID(a) && strings.Contains(string(data), "10.0.0.1:1")
	}, "A did not register its node again once B was gone")
	require.NoError(t, a.Register(ctx, sa))
}

// A node that someone without a live registration deletes or overwrites
// is still restored: yielding is only for live contenders.
func TestYieldingLeavesRestoreAlone(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	s := svc("solo", "1", "n1")
	require.NoError(t, r.Register(ctx, s))
	zktest.Eventually(t, 10*time.Second, func() bool { return peekConfirmed(r, "solo", "n1") }, "never confirmed")
	require.NoError(t, raw.Delete("/micro-registry/solo/n1", -1))
	zktest.Eventually(t, 10*time.Second, func() bool {
		_, st, err := raw.Get("/micro-registry/solo/n1")
		return err == nil && st.EphemeralOwner == peekSessionID(r)
	}, "deleted node not restored")
	err := r.Register(ctx, s)
	assert.False(t, errors.Is(err, ErrNotFound))
	assert.NoError(t, err)
}
