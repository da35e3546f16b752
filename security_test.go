package zookeeper

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// ---- Configuration (no server) ----

func TestACLConfig(t *testing.T) {
	t.Setenv(EnvAuth, "")
	creator := zk.ACL{Perms: zk.PermAll, Scheme: "auth"}
	worldRead := zk.ACL{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}
	worldReadCreate := zk.ACL{Perms: zk.PermRead | zk.PermCreate, Scheme: "world", ID: "anyone"}
	custom := zk.DigestACL(zk.PermAll, "ops", "pw")
	dirs := append(zk.DigestACL(zk.PermRead|zk.PermCreate, "other", "pw"), creator)
	tests := []struct {
		name            string
		opts            []registry.Option
		node, dir, root []zk.ACL
	}{
		{"no credentials: open", nil,
			zk.WorldACL(zk.PermAll), zk.WorldACL(zk.PermAll), zk.WorldACL(zk.PermAll)},
		{"credentials: creator all, world read; the prefix lets anyone add a service",
			[]registry.Option{Auth("digest", []byte("u:p"))},
			[]zk.ACL{creator, worldRead}, []zk.ACL{creator, worldRead}, []zk.ACL{creator, worldReadCreate}},
		{"ACL sets every znode", []registry.Option{Auth("digest", []byte("u:p")), ACL(custom...)},
			custom, custom, custom},
		{"DirACL sets the directories", []registry.Option{Auth("digest", []byte("u:p")), DirACL(dirs...)},
			[]zk.ACL{creator, worldRead}, dirs, dirs},
		{"DirACL over ACL", []registry.Option{Auth("digest", []byte("u:p")), ACL(custom...), DirACL(dirs...)},
			custom, dirs, dirs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newConfig(*registry.NewOptions(tt.opts...))
			require.NoError(t, err)
			assert.Equal(t, tt.node, c.nodeACL, "nodes")
			assert.Equal(t, tt.dir, c.dirACL, "service directories")
			assert.Equal(t, tt.root, c.rootACL, "prefix")
		})
	}
}

func TestACLConfigRejects(t *testing.T) {
	t.Setenv(EnvAuth, "")
	tests := []struct {
		name string
		opts []registry.Option
		want string
	}{
		{"auth ACL without credentials", []registry.Option{ACL(zk.ACL{Perms: zk.PermAll, Scheme: "auth"})}, `scheme "auth"`},
		{"auth DirACL without credentials", []registry.Option{DirACL(zk.ACL{Perms: zk.PermAll, Scheme: "auth"})}, `scheme "auth"`},
		{"empty DirACL", []registry.Option{DirACL()}, "DirACL option with an empty list"},
		{"no scheme", []registry.Option{ACL(zk.ACL{Perms: zk.PermRead})}, "no scheme"},
		{"unknown permission", []registry.Option{ACL(zk.ACL{Perms: 64, Scheme: "world", ID: "anyone"})}, "permission bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newConfig(*registry.NewOptions(tt.opts...))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "zookeeper: ")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestACLIdentityNamesUsersNotSecrets(t *testing.T) {
	t.Setenv(EnvAuth, "")
	c, err := newConfig(*registry.NewOptions(Auth("digest", []byte("alice:s3cret-pw")), Auth("ip", []byte("10.0.0.1"))))
	require.NoError(t, err)
	id := c.identity()
	assert.Contains(t, id, `digest user "alice"`)
	assert.Contains(t, id, "scheme ip")
	assert.Contains(t, id, "wrong password")
	assert.NotContains(t, id, "s3cret-pw")
	assert.NotContains(t, id, "10.0.0.1")

	c, err = newConfig(*registry.NewOptions())
	require.NoError(t, err)
	assert.Contains(t, c.identity(), "no credentials")
}

func TestTLSConfigFromEnvironment(t *testing.T) {
	pki := newTestPKI(t, "env")
	clear := func(t *testing.T) {
		for _, v := range []string{EnvAuth, EnvTLS, EnvTLSCA, EnvTLSCert, EnvTLSKey, EnvTLSServerName} {
			t.Setenv(v, "")
		}
	}
	t.Run("off by default", func(t *testing.T) {
		clear(t)
		c, err := newConfig(*registry.NewOptions())
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		assert.Nil(t, tc)
	})
	t.Run("TLS=1 verifies with the system's CAs", func(t *testing.T) {
		clear(t)
		t.Setenv(EnvTLS, "1")
		c, err := newConfig(*registry.NewOptions())
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		require.NotNil(t, tc)
		assert.Nil(t, tc.RootCAs)
		assert.False(t, tc.InsecureSkipVerify)
	})
	t.Run("files turn TLS on and are loaded at dial", func(t *testing.T) {
		clear(t)
		t.Setenv(EnvTLSCA, pki.caFile)
		t.Setenv(EnvTLSCert, pki.clientCertFile)
		t.Setenv(EnvTLSKey, pki.clientKeyFile)
		t.Setenv(EnvTLSServerName, "zk.internal")
		c, err := newConfig(*registry.NewOptions())
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		require.NotNil(t, tc)
		assert.True(t, tc.RootCAs.Equal(pki.pool))
		assert.Len(t, tc.Certificates, 1)
		assert.Equal(t, "zk.internal", tc.ServerName)
		assert.False(t, tc.InsecureSkipVerify)

		same, err := newConfig(*registry.NewOptions())
		require.NoError(t, err)
		assert.True(t, c.sameSession(same), "the same environment keeps the session")
	})
	t.Run("Secure(true) uses the environment's CA", func(t *testing.T) {
		clear(t)
		t.Setenv(EnvTLSCA, pki.caFile)
		c, err := newConfig(*registry.NewOptions(registry.Secure(true)))
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		assert.True(t, tc.RootCAs.Equal(pki.pool))
	})
	t.Run("a TLSConfig option wins", func(t *testing.T) {
		clear(t)
		t.Setenv(EnvTLSCA, filepath.Join(t.TempDir(), "missing.pem"))
		own := &tls.Config{ServerName: "mine"}
		c, err := newConfig(*registry.NewOptions(registry.TLSConfig(own)))
		require.NoError(t, err)
		tc, err := c.tlsConfig()
		require.NoError(t, err)
		assert.Same(t, own, tc)
	})
	t.Run("Secure(true) alone keeps its session across Init", func(t *testing.T) {
		clear(t)
		a, err := newConfig(*registry.NewOptions(registry.Secure(true)))
		require.NoError(t, err)
		b, err := newConfig(*registry.NewOptions(registry.Secure(true)))
		require.NoError(t, err)
		assert.True(t, a.sameSession(b))
	})

	bad := []struct {
		name string
		env  map[string]string
		want string // in newConfig's or tlsConfig's error
	}{
		{"not a boolean", map[string]string{EnvTLS: "yes please"}, "not a boolean"},
		{"off but configured", map[string]string{EnvTLS: "false", EnvTLSCA: pki.caFile}, "other " + EnvTLS + "_* variables"},
		{"cert without key", map[string]string{EnvTLSCert: pki.clientCertFile}, "go together"},
		{"missing CA file", map[string]string{EnvTLSCA: "/nonexistent/ca.pem"}, EnvTLSCA + ": open /nonexistent/ca.pem"},
		{"CA file without certificates", map[string]string{EnvTLSCA: pki.clientKeyFile}, "no PEM certificate in " + pki.clientKeyFile},
		{"key does not match", map[string]string{EnvTLSCert: pki.clientCertFile, EnvTLSKey: pki.serverKeyFile}, EnvTLSCert},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			clear(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := newConfig(*registry.NewOptions())
			if err == nil {
				_, err = c.tlsConfig()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "zookeeper: ")
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "PRIVATE KEY", "key material is never echoed")
		})
	}
}

// ---- ACLs against a real server ----

// digestConn returns a raw connection authenticated as user:password.
func digestConn(t *testing.T, addr, user, password string) *zk.Conn {
	t.Helper()
	c := rawConn(t, addr)
	require.NoError(t, c.AddAuth("digest", []byte(user+":"+password)))
	return c
}

// digestAuth is the Auth option for user:password.
func digestAuth(user, password string) registry.Option {
	return Auth("digest", []byte(user+":"+password))
}

// requireACL fails t unless p's ACL, read over c, is want, in any order.
// ZooKeeper shows digest hashes only to clients with ADMIN permission on p
// (others see "user:x"), so c should hold the owner's credentials.
func requireACL(t *testing.T, c *zk.Conn, p string, want ...[]zk.ACL) {
	t.Helper()
	got, _, err := c.GetACL(p)
	require.NoError(t, err, p)
	var all []zk.ACL
	for _, w := range want {
		all = append(all, w...)
	}
	require.ElementsMatch(t, all, got, "ACL of %s", p)
}

// registerFails registers s with r, which must fail at once (not after the
// registry's timeout, as a retry loop would) with an error containing each
// of want; r must keep nothing more to retry.
func registerFails(t *testing.T, r *zkRegistry, s *registry.Service, want ...string) error {
	t.Helper()
	before := r.owner.count()
	start := time.Now()
	err := r.Register(s)
	require.Error(t, err)
	t.Log(err)
	assert.Less(t, time.Since(start), r.config().timeout/2, "a refusal is not retried until the timeout: %v", err)
	assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
	for _, w := range want {
		assert.Contains(t, err.Error(), w)
	}
	assert.ErrorIs(t, err, zk.ErrNoAuth)
	assert.Equal(t, before, r.owner.count(), "a refused registration is not kept for retries")
	return err
}

func TestSecurityACL(t *testing.T) {
	t.Setenv(EnvAuth, "")
	srv := zktest.Start(t)
	addrs := []string{srv.Addr}
	anonRaw := rawConn(t, srv.Addr)
	aliceRaw := digestConn(t, srv.Addr, "alice", "alice-pw")
	bobRaw := digestConn(t, srv.Addr, "bob", "bob-pw")

	alice := newTestRegistry(t, addrs, digestAuth("alice", "alice-pw"))
	require.NoError(t, alice.Register(svc("orders", "1", "a1")))
	const a1 = "/micro-registry/orders/a1"
	a1Data, a1Stat, err := anonRaw.Get(a1)
	require.NoError(t, err, "an unauthenticated client reads an authenticated registration")

	aliceAll := zk.DigestACL(zk.PermAll, "alice", "alice-pw")
	worldRead := zk.WorldACL(zk.PermRead)

	t.Run("DefaultACLs", func(t *testing.T) {
		requireACL(t, aliceRaw, a1, aliceAll, worldRead)
		requireACL(t, aliceRaw, "/micro-registry/orders", aliceAll, worldRead)
		requireACL(t, aliceRaw, "/micro-registry", aliceAll, zk.WorldACL(zk.PermRead|zk.PermCreate))
	})

	t.Run("UnauthenticatedCanReadButNotModify", func(t *testing.T) {
		anon := newTestRegistry(t, addrs)
		got, err := anon.GetService("orders")
		require.NoError(t, err)
		assert.Equal(t, []string{"a1"}, nodeIDs(got))

		// Raw ZooKeeper calls: every way to remove or change a1 is refused.
		assert.ErrorIs(t, anonRaw.Delete(a1, -1), zk.ErrNoAuth, "delete")
		_, err = anonRaw.Set(a1, []byte(`{"name":"orders"}`), -1)
		assert.ErrorIs(t, err, zk.ErrNoAuth, "set")
		_, err = anonRaw.SetACL(a1, zk.WorldACL(zk.PermAll), -1)
		assert.ErrorIs(t, err, zk.ErrNoAuth, "set ACL")
		_, err = anonRaw.Create(a1, []byte("evil"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		assert.ErrorIs(t, err, zk.ErrNoAuth, "create over it")
		res, err := anonRaw.Multi(
			&zk.DeleteRequest{Path: a1, Version: -1},
			&zk.CreateRequest{Path: a1, Data: []byte("evil"), Acl: zk.WorldACL(zk.PermAll), Flags: zk.FlagEphemeral},
		)
		if err == nil {
			err = res[0].Error
		}
		assert.ErrorIs(t, err, zk.ErrNoAuth, "delete and create in one transaction")
		_, err = anonRaw.Create("/micro-registry/orders/fake", []byte("evil"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		assert.ErrorIs(t, err, zk.ErrNoAuth, "no node can be slipped into the service")
		assert.ErrorIs(t, anonRaw.Delete("/micro-registry/orders", -1), zk.ErrNoAuth, "delete the service directory")

		// Through the registry: taking a1 over, or adding a node to
		// orders, fails at once with an error that says why.
		registerFails(t, anon, svc("orders", "1", "a1"),
			`zookeeper: register service "orders" node "a1"`,
			"not allowed to create "+a1, "the ACL of /micro-registry/orders does not grant CREATE",
			"no credentials")
		registerFails(t, anon, svc("orders", "1", "x1"),
			"not allowed to create /micro-registry/orders/x1", "the ACL of /micro-registry/orders does not grant CREATE")

		data, st, err := anonRaw.Get(a1)
		require.NoError(t, err)
		assert.Equal(t, a1Data, data)
		assert.Equal(t, a1Stat.Version, st.Version)
		assert.Equal(t, alice.sessionID(), st.EphemeralOwner)

		// The trade-off of the default prefix ACL: anyone may start a
		// service of their own next to the protected ones.
		require.NoError(t, anon.Register(svc("anon-svc", "1", "n1")))
	})

	t.Run("OtherCredentialsCannotTouchIt", func(t *testing.T) {
		bob := newTestRegistry(t, addrs, digestAuth("bob", "bob-pw"))
		// A service directory belongs to the credentials that created it.
		registerFails(t, bob, svc("orders", "1", "b1"),
			"not allowed to create /micro-registry/orders/b1", `digest user "bob"`)
		registerFails(t, bob, svc("orders", "1", "a1"), "not allowed to create "+a1)
		assert.ErrorIs(t, bobRaw.Delete(a1, -1), zk.ErrNoAuth)
		_, err := bobRaw.Set(a1, []byte("x"), -1)
		assert.ErrorIs(t, err, zk.ErrNoAuth)

		// Bob's own service is his, and alice cannot touch it either.
		require.NoError(t, bob.Register(svc("billing", "1", "b1")))
		requireACL(t, bobRaw, "/micro-registry/billing/b1", zk.DigestACL(zk.PermAll, "bob", "bob-pw"), worldRead)
		requireACL(t, bobRaw, "/micro-registry/billing", zk.DigestACL(zk.PermAll, "bob", "bob-pw"), worldRead)
		assert.ErrorIs(t, aliceRaw.Delete("/micro-registry/billing/b1", -1), zk.ErrNoAuth)
		_, err = aliceRaw.Set("/micro-registry/billing/b1", []byte("x"), -1)
		assert.ErrorIs(t, err, zk.ErrNoAuth)

		_, st, err := anonRaw.Get(a1)
		require.NoError(t, err)
		assert.Equal(t, alice.sessionID(), st.EphemeralOwner)
	})

	t.Run("DirACLAuthorisesOtherCredentials", func(t *testing.T) {
		// Carol's service directory lets dave add nodes (CREATE) but not
		// delete any (DELETE is checked on the directory, so whoever may
		// delete one node in it may delete all of them).
		carol := newTestRegistry(t, addrs, digestAuth("carol", "carol-pw"), DirACL(append(append(
			zk.DigestACL(zk.PermAll, "carol", "carol-pw"),
			zk.DigestACL(zk.PermRead|zk.PermCreate, "dave", "dave-pw")...),
			zk.WorldACL(zk.PermRead)...)...))
		dave := newTestRegistry(t, addrs, digestAuth("dave", "dave-pw"))
		daveRaw := digestConn(t, srv.Addr, "dave", "dave-pw")
		carolRaw := digestConn(t, srv.Addr, "carol", "carol-pw")
		const c1, d1 = "/micro-registry/shared/c1", "/micro-registry/shared/d1"

		require.NoError(t, carol.Register(svc("shared", "1", "c1")))
		require.NoError(t, dave.Register(svc("shared", "1", "d1")), "dave may add his node")
		requireACL(t, daveRaw, d1, zk.DigestACL(zk.PermAll, "dave", "dave-pw"), worldRead)
		got, _, err := anonRaw.Children("/micro-registry/shared")
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"c1", "d1"}, got)

		// ...but cannot delete or change carol's.
		assert.ErrorIs(t, daveRaw.Delete(c1, -1), zk.ErrNoAuth)
		_, err = daveRaw.Set(c1, []byte("x"), -1)
		assert.ErrorIs(t, err, zk.ErrNoAuth)
		// dave may create in the directory, so ZooKeeper answers "exists"
		// and the registry's takeover (delete and create) is refused.
		registerFails(t, dave, svc("shared", "1", "c1"),
			"not allowed to replace "+c1+": it belongs to another session, and the ACL of /micro-registry/shared does not grant DELETE and CREATE")
		require.NoError(t, dave.Register(svc("shared", "1", "d1")), "dave keeps his own node")

		// The other side of ZooKeeper's model: the directory's owner may
		// delete dave's node, and dave's registry puts it back.
		require.NoError(t, carolRaw.Delete(d1, -1))
		eventually(t, 10*time.Second, func() bool {
			_, st, err := anonRaw.Get(d1)
			return err == nil && st.EphemeralOwner == dave.sessionID()
		}, "dave's registry did not restore his node")

		// Nor can dave delete his own node: Deregister says so, forgets it,
		// and it goes with dave's session.
		err = dave.Deregister(svc("shared", "1", "d1"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not allowed to delete "+d1+": the ACL of /micro-registry/shared does not grant DELETE")
		assert.ErrorIs(t, err, zk.ErrNoAuth)
		require.NoError(t, dave.Close())
		eventually(t, 10*time.Second, func() bool {
			ok, _, err := anonRaw.Exists(d1)
			return err == nil && !ok
		}, "dave's node outlived his session")
		ok, _, err := anonRaw.Exists(c1)
		require.NoError(t, err)
		assert.True(t, ok)
	})

	t.Run("WrongPasswordFailsClearly", func(t *testing.T) {
		// An operator provisions the prefix for one identity.
		admin := rawConn(t, srv.Addr)
		_, err := admin.Create("/provisioned", nil, 0, append(zk.DigestACL(zk.PermAll, "inventory", "right-pw"), zk.WorldACL(zk.PermRead)...))
		require.NoError(t, err)

		// ZooKeeper accepts any digest password; the refusal comes with the
		// first write, at once, and names the path and the user.
		wrong := newTestRegistry(t, addrs, Prefix("/provisioned"), digestAuth("inventory", "WRONG-pw"))
		err = registerFails(t, wrong, svc("inventory", "1", "i1"),
			`zookeeper: register service "inventory" node "i1"`,
			"not allowed to create /provisioned/inventory: the ACL of /provisioned does not grant CREATE",
			`digest user "inventory"`, "wrong password")
		assert.NotContains(t, err.Error(), "WRONG-pw")

		// Without credentials, the same clear refusal.
		none := newTestRegistry(t, addrs, Prefix("/provisioned"))
		registerFails(t, none, svc("inventory", "1", "i1"),
			"not allowed to create /provisioned/inventory", "no credentials")

		// Nothing was created, and nothing is being retried.
		ok, _, err := anonRaw.Exists("/provisioned/inventory")
		require.NoError(t, err)
		assert.False(t, ok)

		right := newTestRegistry(t, addrs, Prefix("/provisioned"), digestAuth("inventory", "right-pw"))
		require.NoError(t, right.Register(svc("inventory", "1", "i1")))
		requireACL(t, digestConn(t, srv.Addr, "inventory", "right-pw"), "/provisioned/inventory/i1",
			zk.DigestACL(zk.PermAll, "inventory", "right-pw"), worldRead)
	})

	t.Run("SurvivesSessionExpiryWithTheSameACL", func(t *testing.T) {
		proxy, err := faultproxy.New(srv.Addr)
		require.NoError(t, err)
		defer proxy.Close()
		const sessionTimeout = time.Second
		eve := newTestRegistry(t, []string{proxy.Addr}, SessionTimeout(sessionTimeout), digestAuth("eve", "eve-pw"))
		observer := newTestRegistry(t, addrs)

		require.NoError(t, eve.Register(svc("vault", "1", "v1", "v2")))
		w, err := observer.Watch(registry.WatchService("vault"))
		require.NoError(t, err)
		defer w.Stop()
		eveAll := zk.DigestACL(zk.PermAll, "eve", "eve-pw")
		eveRaw := digestConn(t, srv.Addr, "eve", "eve-pw")
		for _, p := range []string{"/micro-registry/vault", "/micro-registry/vault/v1", "/micro-registry/vault/v2"} {
			requireACL(t, eveRaw, p, eveAll, worldRead)
		}
		oldSession := eve.sessionID()

		proxy.Partition()
		for i := 0; i < 2; i++ {
			assert.Equal(t, "delete", next(t, w, 10*sessionTimeout).Action)
		}
		proxy.Heal()
		for i := 0; i < 2; i++ {
			assert.Equal(t, "create", next(t, w, 15*time.Second).Action)
		}

		require.NotEqual(t, oldSession, eve.sessionID())
		for _, id := range []string{"v1", "v2"} {
			p := "/micro-registry/vault/" + id
			_, st, err := anonRaw.Get(p)
			require.NoError(t, err)
			assert.Equal(t, eve.sessionID(), st.EphemeralOwner)
			requireACL(t, eveRaw, p, eveAll, worldRead)
			assert.ErrorIs(t, anonRaw.Delete(p, -1), zk.ErrNoAuth)
		}
		requireACL(t, eveRaw, "/micro-registry/vault", eveAll, worldRead)
	})
}

// ---- Chroot ----

func TestChroot(t *testing.T) {
	t.Setenv(EnvAuth, "")
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	prod := []string{srv.Addr + "/apps/prod"}

	r := newTestRegistry(t, prod)
	w, err := r.Watch()
	require.NoError(t, err)
	defer w.Stop()

	require.NoError(t, r.Register(svc("greeter", "1", "g1")))
	ok, _, err := raw.Exists("/apps/prod/micro-registry/greeter/g1")
	require.NoError(t, err)
	assert.True(t, ok, "the node lives under the chroot")
	ok, _, err = raw.Exists("/micro-registry")
	require.NoError(t, err)
	assert.False(t, ok, "nothing is written outside the chroot")
	res := next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "g1", res.Service.Nodes[0].Id)

	// A peer under the same chroot is seen by the watcher.
	peer := newTestRegistry(t, prod)
	require.NoError(t, peer.Register(svc("greeter", "1", "g2")))
	res = next(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "g2", res.Service.Nodes[0].Id)

	// Registries outside the chroot, under another chroot, or with another
	// prefix under the same chroot are separate worlds.
	outside := newTestRegistry(t, []string{srv.Addr})
	require.NoError(t, outside.Register(svc("greeter", "1", "o1")))
	prefixed := newTestRegistry(t, prod, Prefix("/custom"))
	require.NoError(t, prefixed.Register(svc("greeter", "1", "p1")))
	ok, _, err = raw.Exists("/apps/prod/custom/greeter/p1")
	require.NoError(t, err)
	assert.True(t, ok, "Prefix composes with the chroot")
	other := newTestRegistry(t, []string{srv.Addr + "/apps/test"})

	list := func(r *zkRegistry) []string {
		t.Helper()
		svcs, err := r.ListServices()
		require.NoError(t, err)
		return nodeIDs(svcs)
	}
	assert.Equal(t, []string{"g1", "g2"}, list(r))
	assert.Equal(t, []string{"g1", "g2"}, list(peer))
	assert.Equal(t, []string{"o1"}, list(outside))
	assert.Equal(t, []string{"p1"}, list(prefixed))
	assert.Empty(t, list(other))
	got, err := r.GetService("greeter")
	require.NoError(t, err)
	assert.Equal(t, []string{"g1", "g2"}, nodeIDs(got))
	noEvent(t, w, 300*time.Millisecond)

	// The owner's watch works under the chroot: a node deleted by hand is
	// restored.
	require.NoError(t, raw.Delete("/apps/prod/micro-registry/greeter/g1", -1))
	eventually(t, 10*time.Second, func() bool {
		_, st, err := raw.Get("/apps/prod/micro-registry/greeter/g1")
		return err == nil && st.EphemeralOwner == r.sessionID()
	}, "g1 was not restored under the chroot")

	require.NoError(t, peer.Deregister(svc("greeter", "1", "g2")))
	for {
		res = next(t, w, 10*time.Second)
		if res.Service.Nodes[0].Id == "g2" {
			break
		}
		require.Equal(t, "g1", res.Service.Nodes[0].Id, "only g1's restore may come first")
	}
	assert.Equal(t, "delete", res.Action)
	assert.Equal(t, []string{"g1"}, list(r))
}

// ---- TLS ----

// testPKI is a test CA and the certificates it signed, as PEM files in a
// temporary directory.
type testPKI struct {
	pool           *x509.CertPool // the CA
	caFile         string         // the CA certificate
	serverFile     string         // server key and certificate: ZooKeeper's PEM key store
	serverKeyFile  string         // the server key alone
	clientCertFile string
	clientKeyFile  string
	client         tls.Certificate
}

// newTestPKI makes a CA named name, a server certificate for 127.0.0.1 and
// localhost, and a client certificate.
func newTestPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) (certPEM, keyPEM []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
	}
	serverCert, serverKey := issue(2, "zookeeper", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
	clientCert, clientKey := issue(3, "registry", x509.ExtKeyUsageClientAuth, nil, nil)

	p := &testPKI{
		pool:           x509.NewCertPool(),
		caFile:         filepath.Join(dir, "ca.pem"),
		serverFile:     filepath.Join(dir, "server.pem"),
		serverKeyFile:  filepath.Join(dir, "server-key.pem"),
		clientCertFile: filepath.Join(dir, "client.pem"),
		clientKeyFile:  filepath.Join(dir, "client-key.pem"),
	}
	p.pool.AddCert(ca)
	for f, data := range map[string][]byte{
		p.caFile:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		p.serverFile:     append(append([]byte{}, serverKey...), serverCert...),
		p.serverKeyFile:  serverKey,
		p.clientCertFile: clientCert,
		p.clientKeyFile:  clientKey,
	} {
		require.NoError(t, os.WriteFile(f, data, 0o600))
	}
	p.client, err = tls.X509KeyPair(clientCert, clientKey)
	require.NoError(t, err)
	return p
}

// clientTLS trusts the CA and presents the client certificate.
func (p *testPKI) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.client}, MinVersion: tls.VersionTLS12}
}

// nettyJars is what Debian's ZooKeeper 3.8 needs on its class path to serve
// TLS (netty-all.jar alone does not load).
func nettyJars() []string {
	var jars []string
	for _, m := range []string{"common", "buffer", "codec", "handler", "resolver", "transport", "transport-native-epoll", "transport-native-unix-common"} {
		jars = append(jars, "/usr/share/java/netty-"+m+".jar")
	}
	return jars
}

// startTLSServer starts a ZooKeeper with a plaintext client port (srv.Addr)
// and a secure client port that requires a client certificate signed by
// the returned PKI's CA. It returns the secure port's address.
func startTLSServer(t *testing.T) (*zktest.Server, string, *testPKI) {
	t.Helper()
	pki := newTestPKI(t, "zookeeper")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	srv := zktest.Start(t,
		zktest.Config(
			"serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
			"secureClientPort="+strconv.Itoa(port),
			"secureClientPortAddress=127.0.0.1",
			"ssl.keyStore.location="+pki.serverFile,
			"ssl.keyStore.type=PEM",
			"ssl.trustStore.location="+pki.caFile,
			"ssl.trustStore.type=PEM",
			"ssl.clientAuth=need",
		),
		zktest.Classpath(nettyJars()...),
	)
	return srv, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), pki
}

// debugLog keeps every line logged at any level.
type debugLog struct {
	mu    sync.Mutex // guards lines
	lines []string
}

var _ logger.Logger = (*debugLog)(nil)

func (l *debugLog) Init(...logger.Option) error                 { return nil }
func (l *debugLog) Options() logger.Options                     { return logger.Options{Level: logger.TraceLevel} }
func (l *debugLog) Fields(map[string]interface{}) logger.Logger { return l }
func (l *debugLog) String() string                              { return "debug recorder" }
func (l *debugLog) Log(level logger.Level, v ...interface{})    { l.add(fmt.Sprint(v...)) }
func (l *debugLog) Logf(level logger.Level, format string, v ...interface{}) {
	l.add(fmt.Sprintf(format, v...))
}

func (l *debugLog) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *debugLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestTLS(t *testing.T) {
	for _, v := range []string{EnvAuth, EnvTLS, EnvTLSCA, EnvTLSCert, EnvTLSKey, EnvTLSServerName} {
		t.Setenv(v, "")
	}
	srv, secureAddr, pki := startTLSServer(t)
	raw := rawConn(t, srv.Addr) // a plaintext observer on the same server

	// owner returns the session owning p, 0 if p does not exist.
	owner := func(p string) int64 {
		_, st, err := raw.Get(p)
		if err != nil {
			return 0
		}
		return st.EphemeralOwner
	}

	t.Run("EndToEnd", func(t *testing.T) {
		r := newTestRegistry(t, []string{secureAddr}, registry.TLSConfig(pki.clientTLS()))
		w, err := r.Watch(registry.WatchService("tls-greeter"))
		require.NoError(t, err)
		defer w.Stop()
		require.NoError(t, r.Register(svc("tls-greeter", "1", "t1")))
		assert.Equal(t, r.sessionID(), owner("/micro-registry/tls-greeter/t1"))
		got, err := r.GetService("tls-greeter")
		require.NoError(t, err)
		assert.Equal(t, []string{"t1"}, nodeIDs(got))
		assert.Equal(t, "create", next(t, w, 10*time.Second).Action)
	})

	rogue := newTestPKI(t, "rogue")
	failures := []struct {
		name string
		opts []registry.Option
		want []string
		as   any // an error type the chain must hold
	}{
		{"PlaintextClientAtTLSPort", nil,
			[]string{secureAddr + " did not answer the session handshake", "registry.Secure", EnvTLS}, nil},
		{"UntrustedCA", []registry.Option{registry.TLSConfig(&tls.Config{RootCAs: rogue.pool, Certificates: []tls.Certificate{pki.client}})},
			[]string{"TLS handshake with " + secureAddr, "certificate signed by unknown authority"}, new(x509.UnknownAuthorityError)},
		{"SecureVerifiesByDefault", []registry.Option{registry.Secure(true)},
			[]string{"TLS handshake with " + secureAddr, "certificate signed by unknown authority"}, new(x509.UnknownAuthorityError)},
		{"WrongServerName", []registry.Option{registry.TLSConfig(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}, ServerName: "zk.example.com"})},
			[]string{"TLS handshake with " + secureAddr, "zk.example.com"}, new(x509.HostnameError)},
		{"NoClientCertificate", []registry.Option{registry.TLSConfig(&tls.Config{RootCAs: pki.pool})},
			[]string{"TLS handshake with " + secureAddr + ", refused by the server (if it requires a client certificate", EnvTLSCert, "tls: bad certificate"}, nil},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			const timeout = 3 * time.Second
			r := newTestRegistry(t, []string{secureAddr}, append(tt.opts, registry.Timeout(timeout))...)
			start := time.Now()
			err := r.Register(svc("never", "1", "n1"))
			require.Error(t, err)
			assert.Less(t, time.Since(start), timeout+2*time.Second, "fails within the timeout")
			msg := err.Error()
			t.Log(msg)
			assert.True(t, strings.HasPrefix(msg, `zookeeper: register service "never": no session with `+secureAddr), msg)
			assert.Contains(t, msg, "last connection error")
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			if tt.as != nil {
				assert.ErrorAs(t, err, tt.as)
			}
		})
	}

	t.Run("FromEnvironment", func(t *testing.T) {
		t.Setenv(EnvTLSCA, pki.caFile)
		t.Setenv(EnvTLSCert, pki.clientCertFile)
		t.Setenv(EnvTLSKey, pki.clientKeyFile)
		// As go-micro builds it for --registry=zookeeper: no options, then
		// the address.
		r := NewRegistry().(*zkRegistry)
		t.Cleanup(func() { _ = r.Close() })
		require.NoError(t, r.Init(registry.Addrs(secureAddr)))
		require.NoError(t, r.Register(svc("env-tls", "1", "e1")))
		assert.Equal(t, r.sessionID(), owner("/micro-registry/env-tls/e1"))

		t.Setenv(EnvTLSCA, filepath.Join(t.TempDir(), "missing.pem"))
		bad := newTestRegistry(t, []string{secureAddr})
		err := bad.Register(svc("env-tls", "1", "e2"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), EnvTLSCA+": open ")
	})

	t.Run("GoMicroServiceWithAddressFlagAndEnvironment", func(t *testing.T) {
		const name = "micro-tls"
		env := []string{"ZK_SERVICE=" + name, EnvTLSCA + "=" + pki.caFile, EnvTLSCert + "=" + pki.clientCertFile, EnvTLSKey + "=" + pki.clientKeyFile}
		startChild(t, "micro", env, "--registry=zookeeper", "--registry_address="+secureAddr)
		eventually(t, 30*time.Second, func() bool {
			ch, _, err := raw.Children("/micro-registry/" + name)
			return err == nil && len(ch) == 1
		}, "a go-micro service given --registry_address and %s did not register over TLS", EnvTLSCA)
	})

	t.Run("SecretsAreNeverLogged", func(t *testing.T) {
		const password = "n0t-in-any-log"
		keyPEM, err := os.ReadFile(pki.clientKeyFile)
		require.NoError(t, err)
		keyBody := strings.Split(string(keyPEM), "\n")[1]

		proxy, err := faultproxy.New(secureAddr)
		require.NoError(t, err)
		defer proxy.Close()
		t.Setenv(EnvTLSCA, pki.caFile)
		t.Setenv(EnvTLSCert, pki.clientCertFile)
		t.Setenv(EnvTLSKey, pki.clientKeyFile)
		t.Setenv(EnvTLSServerName, "127.0.0.1")
		t.Setenv(EnvAuth, "digest:logged:"+password)
		log := &debugLog{}
		r := newTestRegistry(t, []string{proxy.Addr}, registry.Logger(log))
		require.NoError(t, r.Register(svc("quiet", "1", "q1")))
		first := r.sessionID()

		// A reconnect makes zk re-send the credentials; a refusal names
		// the user in its error.
		proxy.Cut()
		eventually(t, 10*time.Second, func() bool {
			return strings.Contains(log.text(), "re-submitting")
		}, "zk did not re-send the credentials after a reconnect")
		require.NoError(t, r.Register(svc("quiet", "2", "q1")))
		assert.Equal(t, first, r.sessionID())
		_, err = raw.Create("/locked", nil, 0, zk.WorldACL(zk.PermRead))
		require.NoError(t, err)
		require.NoError(t, r.Init(Prefix("/locked")))
		err = r.Register(svc("quiet", "1", "q2"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), `digest user "logged"`)
		require.NoError(t, r.Close())

		text := log.text() + "\n" + err.Error()
		assert.Contains(t, text, "authenticated", "zk's own log lines are captured")
		assert.NotContains(t, text, password)
		assert.NotContains(t, text, keyBody)
		assert.NotContains(t, text, "PRIVATE KEY")
	})
}
