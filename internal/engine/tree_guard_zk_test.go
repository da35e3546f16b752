package engine

import (
	"context"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Issue 19, item 2: an anonymous client that creates a config prefix (or
// a key) with an open ACL before the service writes could inject keys
// every service loads. With credentials the Tree refuses such a subtree,
// with the registry's directory check.
func TestTreeRefusesASubtreeOthersMayChange(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	anon := rawZK(t, srv.Addr)
	owner := rawZK(t, srv.Addr, "svc:pw")
	private := []zk.ACL{{Perms: zk.PermAll, Scheme: "auth"}}
	withCreds := Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second, Settings: []Option{Auth("digest", []byte("svc:pw"))}}
	ctx := context.Background()
	setKey := func(key, value string) func(*TreeSnapshot) ([]any, error) {
		return func(s *TreeSnapshot) ([]any, error) {
			var ops []any
			if s.Nodes[""] == nil {
				ops = append(ops, &zk.CreateRequest{Path: s.Root, Acl: private})
			}
			return append(ops, &zk.CreateRequest{Path: s.Root + "/" + key, Data: []byte(value), Acl: private}), nil
		}
	}

	t.Run("squatted prefix", func(t *testing.T) {
		_, err := anon.Create("/squat", nil, 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
		tr := newTestTreeOn(t, withCreds, TreeOptions{Prefix: "/squat"})
		_, err = tr.Snapshot(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "zookeeper: read /squat: /squat has ACL entry world:anyone:cdrwa, which lets an identity other than")
		assert.Contains(t, err.Error(), `digest user "svc"`)
		assert.Contains(t, err.Error(), "OpenTree(true)")
		s, _ := tr.Latest()
		assert.Nil(t, s, "watchers get nothing from a refused subtree")
		require.Error(t, tr.Apply(ctx, setKey("secret", "s3cret")), "nothing is written into it")
		exists, _, err := anon.Exists("/squat/secret")
		require.NoError(t, err)
		assert.False(t, exists)

		// Accepted explicitly (a migration).
		open := newTestTreeOn(t, withCreds, TreeOptions{Prefix: "/squat", OpenTree: true})
		_, err = open.Snapshot(ctx)
		require.NoError(t, err)
	})

	t.Run("squatted key", func(t *testing.T) {
		tr := newTestTreeOn(t, withCreds, TreeOptions{Prefix: "/cfg"})
		require.NoError(t, tr.Apply(ctx, setKey("db", "x")))
		_, err := tr.Snapshot(ctx)
		require.NoError(t, err, "its own writes are its own")

		// A key left open to everyone (a mistake, an older tool): anyone
		// may then add keys under it.
		_, err = owner.Create("/cfg/open", nil, 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
		zktest.WaitFor(t, 10*time.Second, "the open key refused", func() error {
			_, err := tr.Snapshot(ctx)
			if err == nil {
				return assert.AnError
			}
			return nil
		})
		_, err = tr.Snapshot(ctx)
		assert.Contains(t, err.Error(), "/cfg/open has ACL entry world:anyone:cdrwa")
		_, err = anon.Create("/cfg/open/injected", []byte("attacker"), 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
		s, _ := tr.Latest()
		assert.Nil(t, s, "the injected key never reaches a watcher")
	})

	t.Run("an ACL changed after the read is checked before a write", func(t *testing.T) {
		tr := newTestTreeOn(t, withCreds, TreeOptions{Prefix: "/late"})
		require.NoError(t, tr.Apply(ctx, setKey("k", "1")))
		_, err := owner.SetACL("/late", zk.WorldACL(zk.PermAll), -1)
		require.NoError(t, err)
		// No watch fires for an ACL change: the snapshot still shows the
		// old ACL, but the write checks again.
		err = tr.Apply(ctx, setKey("k2", "2"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "/late has ACL entry world:anyone:cdrwa")
	})

	t.Run("identities the ACL option names are accepted", func(t *testing.T) {
		ops := zk.DigestACL(zk.PermAll, "ops", "o")
		_, err := owner.Create("/shared", nil, 0, append(zk.DigestACL(zk.PermAll, "svc", "pw"), ops...))
		require.NoError(t, err)
		tr := newTestTreeOn(t, withCreds, TreeOptions{Prefix: "/shared"})
		_, err = tr.Snapshot(ctx)
		require.Error(t, err, "ops is another identity")
		allowed := newTestTreeOn(t, withCreds, TreeOptions{Prefix: "/shared", AllowedACL: ops})
		_, err = allowed.Snapshot(ctx)
		require.NoError(t, err)
	})

	t.Run("without credentials nothing is judged", func(t *testing.T) {
		tr := newTestTree(t, srv.Addr, "/squat")
		_, err := tr.Snapshot(ctx)
		require.NoError(t, err)
	})
}
