package engine

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// nodeMetadata returns the metadata of the node znode at p, and its stat.
func nodeMetadata(t *testing.T, raw *zk.Conn, p string) (map[string]string, *zk.Stat) {
	t.Helper()
	data, stat, err := raw.Get(p)
	require.NoError(t, err)
	s, err := decodeNode(data)
	require.NoError(t, err)
	return s.Nodes[0].Metadata, stat
}

// setNodeMetadata rewrites the node znode at p with its metadata changed
// by change, as an operator's tool (zkmicro drain) does.
func setNodeMetadata(t *testing.T, raw *zk.Conn, p string, change func(map[string]string)) {
	t.Helper()
	data, stat, err := raw.Get(p)
	require.NoError(t, err)
	var s Service
	require.NoError(t, json.Unmarshal(data, &s))
	if s.Nodes[0].Metadata == nil {
		s.Nodes[0].Metadata = map[string]string{}
	}
	change(s.Nodes[0].Metadata)
	data, err = json.Marshal(&s)
	require.NoError(t, err)
	_, err = raw.Set(p, data, stat.Version)
	require.NoError(t, err)
}

func TestSetNodeMetadataOverridesAndSurvivesExpiry(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	proxy := newProxy(t, srv.Addr)
	r := newTestRegistry(t, Options{Addrs: []string{proxy.Addr}, Timeout: 10 * time.Second})
	ctx := context.Background()
	s := svc("greeter", "1", "g1")
	const p = "/micro-registry/greeter/g1"

	// Set before the node is registered: applied at Register.
	require.NoError(t, r.SetNodeMetadata(ctx, "greeter", "g1", map[string]string{MetaWeight: "2"}))
	require.NoError(t, r.Register(ctx, s))
	md, _ := nodeMetadata(t, raw, p)
	assert.Equal(t, map[string]string{"host": "hg1", MetaWeight: "2"}, md)

	// Set on a registered node: written at once; registering the same
	// service again keeps it and writes nothing.
	require.NoError(t, r.SetNodeMetadata(ctx, "greeter", "g1", map[string]string{MetaLoad: "3"}))
	md, stat := nodeMetadata(t, raw, p)
	assert.Equal(t, "3", md[MetaLoad])
	require.NoError(t, r.Register(ctx, s))
	md, again := nodeMetadata(t, raw, p)
	assert.Equal(t, stat.Mzxid, again.Mzxid, "no write")
	assert.Equal(t, "3", md[MetaLoad])
	require.NoError(t, r.SetNodeMetadata(ctx, "greeter", "g1", map[string]string{MetaLoad: "3"}))
	_, again = nodeMetadata(t, raw, p)
	assert.Equal(t, stat.Mzxid, again.Mzxid, "an unchanged value costs no write")

	// A session expiry restores the node with its latest metadata.
	sid := peekSessionID(r)
	proxy.Partition()
	zktest.Eventually(t, 10*testSessionTimeout, func() bool { return !srv.SessionAlive(sid) }, "the session never expired")
	proxy.Heal()
	zktest.WaitFor(t, 30*time.Second, "the node restored", func() error {
		_, stat, err := raw.Get(p)
		if err != nil {
			return err
		}
		if stat.EphemeralOwner == sid || stat.EphemeralOwner == 0 {
			return assert.AnError
		}
		return nil
	})
	md, _ = nodeMetadata(t, raw, p)
	assert.Equal(t, map[string]string{"host": "hg1", MetaWeight: "2", MetaLoad: "3"}, md)

	// "" removes an override; Deregister forgets them all.
	require.NoError(t, r.SetNodeMetadata(ctx, "greeter", "g1", map[string]string{MetaWeight: ""}))
	md, _ = nodeMetadata(t, raw, p)
	assert.Equal(t, map[string]string{"host": "hg1", MetaLoad: "3"}, md)
	require.NoError(t, r.Deregister(ctx, s))
	require.NoError(t, r.Register(ctx, s))
	md, _ = nodeMetadata(t, raw, p)
	assert.Equal(t, map[string]string{"host": "hg1"}, md)

	// Refused before anything is written.
	for _, bad := range []map[string]string{{"": "x"}, {"k": "\xff"}, {"\xfe": "v"}} {
		err := r.SetNodeMetadata(ctx, "greeter", "g1", bad)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "zookeeper: set node metadata")
	}
	require.Error(t, r.SetNodeMetadata(ctx, "", "g1", nil))
}

func TestOperatorsStatusChangeIsAdoptedOthersRestored(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second})
	ctx := context.Background()
	s := svc("greeter", "1", "g1")
	const p = "/micro-registry/greeter/g1"
	require.NoError(t, r.Register(ctx, s))
	waitConfirmed(t, r, s)
	w, err := r.Watch(ctx, "greeter", nil)
	require.NoError(t, err)
	t.Cleanup(w.Stop)

	// An operator drains the node: the registry keeps it so, and its own
	// watcher reports the update.
	setNodeMetadata(t, raw, p, func(md map[string]string) { md[MetaStatus] = StatusDraining })
	e := nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionUpdate, e.Action)
	assert.Equal(t, StatusDraining, e.Service.Nodes[0].Metadata[MetaStatus])
	zktest.Eventually(t, 10*time.Second, func() bool { return peekConfirmed(r, "greeter", "g1") }, "the drained node is never confirmed ours")
	md, stat := nodeMetadata(t, raw, p)
	assert.Equal(t, StatusDraining, md[MetaStatus], "not restored")
	// The server registers again (go-micro does, periodically): the status
	// stays, and nothing is written.
	require.NoError(t, r.Register(ctx, s))
	_, again := nodeMetadata(t, raw, p)
	assert.Equal(t, stat.Mzxid, again.Mzxid)

	// Any other change is restored, the status kept.
	setNodeMetadata(t, raw, p, func(md map[string]string) { md["host"] = "evil" })
	zktest.WaitFor(t, 10*time.Second, "the change restored", func() error {
		md, _ := nodeMetadata(t, raw, p)
		if md["host"] != "hg1" {
			return assert.AnError
		}
		return nil
	})
	md, _ = nodeMetadata(t, raw, p)
	assert.Equal(t, StatusDraining, md[MetaStatus])

	// Undrain: the status goes, and stays gone.
	setNodeMetadata(t, raw, p, func(md map[string]string) { delete(md, MetaStatus) })
	zktest.Eventually(t, 10*time.Second, func() bool {
		md, _ := nodeMetadata(t, raw, p)
		_, has := md[MetaStatus]
		return !has && peekConfirmed(r, "greeter", "g1")
	}, "undrain not kept")
	require.NoError(t, r.Register(ctx, s))
	md, _ = nodeMetadata(t, raw, p)
	assert.NotContains(t, md, MetaStatus)
}

func TestSetStatusDrainsAnotherRegistrysNode(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	ctx := context.Background()
	owner := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second, Settings: []Option{Auth("digest", []byte("svc:pw"))}})
	s := svc("greeter", "1", "g1")
	require.NoError(t, owner.Register(ctx, s))
	waitConfirmed(t, owner, s)
	const p = "/micro-registry/greeter/g1"

	// Without the service's credentials: refused, saying why.
	stranger := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second})
	err := stranger.SetStatus(ctx, "greeter", "g1", StatusDraining)
	require.ErrorIs(t, err, zk.ErrNoAuth)
	assert.Contains(t, err.Error(), "its ACL does not grant WRITE")

	// With them: drained, and the owner keeps it so.
	operator := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second, Settings: []Option{Auth("digest", []byte("svc:pw"))}})
	require.NoError(t, operator.SetStatus(ctx, "greeter", "g1", StatusDraining))
	require.NoError(t, operator.SetStatus(ctx, "greeter", "g1", StatusDraining), "again: nothing to write")
	zktest.Eventually(t, 10*time.Second, func() bool { return peekConfirmed(owner, "greeter", "g1") }, "the owner never confirmed the drained node")
	md, _ := nodeMetadata(t, raw, p)
	assert.Equal(t, StatusDraining, md[MetaStatus])
	got, err := operator.GetService(ctx, "greeter")
	require.NoError(t, err)
	assert.Equal(t, StatusDraining, got[0].Nodes[0].Metadata[MetaStatus])

	require.NoError(t, operator.SetStatus(ctx, "greeter", "g1", ""))
	zktest.Eventually(t, 10*time.Second, func() bool {
		md, _ := nodeMetadata(t, raw, p)
		_, has := md[MetaStatus]
		return !has && peekConfirmed(owner, "greeter", "g1")
	}, "undrained node not kept")

	require.ErrorIs(t, operator.SetStatus(ctx, "greeter", "missing", StatusDraining), ErrNotFound)
	require.Error(t, operator.SetStatus(ctx, "", "g1", StatusDraining))
}
