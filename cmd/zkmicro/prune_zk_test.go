package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestBinaryPruneDeletesOnlyTheOldPluginsDeadRegistrations(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := rawConn(t, srv.Addr)
	live := startTCPServer(t, "127.0.0.1:0")
	dead := closedPort(t)
	alivePath := plantOldRegistration(t, conn, oneNodeService("greeter", "1.0.0", "greeter-1", live.addr(), nil), nil)
	deadPath := plantOldRegistration(t, conn, oneNodeService("greeter", "1.0.0", "greeter-2", dead, map[string]string{"registry": "zookeeper"}), nil)
	garbagePath := plantOldRegistration(t, conn, oneNodeService("greeter", "", "garbage", "", nil), []byte("not json"))
	// A registration of a live session, at a dead address too: not prune's.
	reg := newZKRegistry(t, srv.Addr)
	register(t, reg, "greeter", "1.0.0", "greeter-3", closedPort(t), nil)

	r := runBinary(t, nil, zkArgs(srv.Addr, "prune")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	require.Equal(t, table(t, []string{"PATH", "VERSION", "ADDRESS", "STATUS", "DETAIL"},
		[]string{garbagePath, "-", "-", "invalid", "not a service registration: not a JSON object"},
		[]string{alivePath, "1.0.0", live.addr(), "alive", "-"},
		[]string{deadPath, "1.0.0", dead, "stale", "connection refused"},
	), r.stdout, "sorted by path")
	require.Empty(t, r.stderr)

	r = runBinary(t, nil, zkArgs(srv.Addr, "prune", "-o", "json")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	require.JSONEq(t, `[
		{"path": "`+garbagePath+`", "service": "greeter", "version": "", "id": "garbage", "address": "",
		 "status": "invalid", "detail": "not a service registration: not a JSON object"},
		{"path": "`+alivePath+`", "service": "greeter", "version": "1.0.0", "id": "greeter-1", "address": "`+live.addr()+`",
		 "status": "alive", "detail": ""},
		{"path": "`+deadPath+`", "service": "greeter", "version": "1.0.0", "id": "greeter-2", "address": "`+dead+`",
		 "status": "stale", "detail": "connection refused"}
	]`, r.stdout)
	for _, p := range []string{alivePath, deadPath, garbagePath} {
		_, exists := ephemeralOwner(t, conn, p)
		require.True(t, exists, "%s: nothing is deleted without --delete", p)
	}

	r = runBinary(t, nil, zkArgs(srv.Addr, "prune", "--delete", "-o", "json")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	var entries []pruneEntry
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &entries))
	require.Len(t, entries, 3)
	assert.Equal(t, []string{pruneInvalid, pruneAlive, pruneDeleted}, []string{entries[0].Status, entries[1].Status, entries[2].Status})
	_, exists := ephemeralOwner(t, conn, deadPath)
	assert.False(t, exists, "the dead registration is deleted")
	for _, p := range []string{alivePath, garbagePath, nodePath("greeter", "greeter-3")} {
		_, exists := ephemeralOwner(t, conn, p)
		assert.True(t, exists, "%s is kept", p)
	}
}

func TestBinaryPruneNamesThePathItDeletesNotWhatTheDataClaims(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := rawConn(t, srv.Addr)
	dead := closedPort(t)
	// The znode of "greeter-\u202e2" (a right-to-left override, which
	// ZooKeeper allows in a path) whose data claims another service and id.
	claim, err := json.Marshal(oneNodeService("billing", "1.0.0", "billing-1", dead, nil))
	require.NoError(t, err)
	znode := plantOldRegistration(t, conn, oneNodeService("greeter", "1.0.0", "greeter-\u202e2", dead, nil), claim)
	shown := "/micro-registry/greeter/greeter-\\u202e2"

	r := runBinary(t, nil, zkArgs(srv.Addr, "prune")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	requireTerminalSafe(t, r.stdout, false)
	require.Equal(t, table(t, []string{"PATH", "VERSION", "ADDRESS", "STATUS", "DETAIL"},
		[]string{shown, "1.0.0", dead, "stale", "connection refused"},
	), r.stdout)

	r = runBinary(t, nil, zkArgs(srv.Addr, "prune", "--delete")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	require.Equal(t, table(t, []string{"PATH", "VERSION", "ADDRESS", "STATUS", "DETAIL"},
		[]string{shown, "1.0.0", dead, "deleted", "connection refused"},
	), r.stdout)
	_, exists := ephemeralOwner(t, conn, znode)
	require.False(t, exists, "the znode shown is the one deleted")
}

func TestPruneKeepsARegistrationThatChangedSinceItWasRead(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := rawConn(t, srv.Addr)
	dead := closedPort(t)
	rewritten := plantOldRegistration(t, conn, oneNodeService("greeter", "1.0.0", "greeter-1", dead, nil), nil)
	replaced := plantOldRegistration(t, conn, oneNodeService("greeter", "1.0.0", "greeter-2", dead, nil), nil)
	removed := plantOldRegistration(t, conn, oneNodeService("greeter", "1.0.0", "greeter-3", dead, nil), nil)
	kept := plantOldRegistration(t, conn, oneNodeService("greeter", "1.0.0", "greeter-4", dead, nil), nil)

	eng := engine.NewRegistry(engine.Options{Addrs: []string{srv.Addr}, Timeout: zkTimeout})
	t.Cleanup(func() { _ = eng.Close() })
	p := pruner{eng: eng, dialTimeout: zkTimeout}
	entries, err := p.run(context.Background(), false)
	require.NoError(t, err)
	require.Len(t, entries, 4)

	// Between the read and the delete: the older plugin registers greeter-1
	// again (it sets the data), something re-creates greeter-2 (a new
	// znode at the same version), and someone deletes greeter-3.
	_, err = conn.Set(rewritten, []byte(`{"name":"greeter"}`), -1)
	require.NoError(t, err)
	require.NoError(t, conn.Delete(replaced, -1))
	_, err = conn.Create(replaced, []byte(`{}`), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	require.NoError(t, conn.Delete(removed, -1))

	var got []string
	for _, e := range entries {
		status, _ := p.deleteStale(t.Context(), e)
		got = append(got, status)
	}

	require.Equal(t, []string{pruneChanged, pruneChanged, pruneGone, pruneDeleted}, got)
	for _, path := range []string{rewritten, replaced} {
		_, exists := ephemeralOwner(t, conn, path)
		assert.True(t, exists, "%s changed: kept", path)
	}
	_, exists := ephemeralOwner(t, conn, kept)
	assert.False(t, exists)
}

// table is rows under header as the commands print them.
func table(t *testing.T, header []string, rows ...[]string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, writeTable(&b, header, rows))
	return b.String()
}
