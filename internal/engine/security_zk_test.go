package engine

// Security against a real ZooKeeper: ACLs and credentials, squatted
// service directories, a chroot, TLS, and secrets kept out of logs and
// errors.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// ---- ACLs against a real server ----

// digestAuth is the Auth option for user:password.
func digestAuth(user, password string) Option {
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
func registerFails(t *testing.T, r *Registry, s *Service, want ...string) error {
	t.Helper()
	before := peekRegistered(r)
	start := time.Now()
	err := r.Register(t.Context(), s)
	require.Error(t, err)
	t.Log(err)
	assert.Less(t, time.Since(start), configuredTimeout(t, r)/2, "a refusal is not retried until the timeout: %v", err)
	assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
	for _, w := range want {
		assert.Contains(t, err.Error(), w)
	}
	assert.ErrorIs(t, err, zk.ErrNoAuth)
	assert.Equal(t, before, peekRegistered(r), "a refused registration is not kept for retries")
	return err
}

// configuredTimeout returns the timeout r uses for each call.
func configuredTimeout(t testing.TB, r *Registry) time.Duration {
	t.Helper()
	cfg, err := r.Config()
	require.NoError(t, err)
	return cfg.Timeout()
}

func TestSecurityACL(t *testing.T) {
	ctx := t.Context()
	t.Setenv(EnvAuth, "")
	srv := zktest.Start(t)
	addrs := []string{srv.Addr}
	anonRaw := rawConn(t, srv.Addr)
	aliceRaw := digestConn(t, srv.Addr, "alice", "alice-pw")
	bobRaw := digestConn(t, srv.Addr, "bob", "bob-pw")

	alice := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{digestAuth("alice", "alice-pw")}})
	require.NoError(t, alice.Register(ctx, svc("orders", "1", "a1")))
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
		anon := newTestRegistry(t, Options{Addrs: addrs})
		got, err := anon.GetService(ctx, "orders")
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
		assert.Equal(t, peekSessionID(alice), st.EphemeralOwner)

		// The trade-off of the default prefix ACL: anyone may start a
		// service of their own next to the protected ones.
		require.NoError(t, anon.Register(ctx, svc("anon-svc", "1", "n1")))
	})

	t.Run("OtherCredentialsCannotTouchIt", func(t *testing.T) {
		bob := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{digestAuth("bob", "bob-pw")}})
		// A service directory belongs to the credentials that created it.
		registerFails(t, bob, svc("orders", "1", "b1"),
			"not allowed to create /micro-registry/orders/b1", `digest user "bob"`)
		registerFails(t, bob, svc("orders", "1", "a1"), "not allowed to create "+a1)
		assert.ErrorIs(t, bobRaw.Delete(a1, -1), zk.ErrNoAuth)
		_, err := bobRaw.Set(a1, []byte("x"), -1)
		assert.ErrorIs(t, err, zk.ErrNoAuth)

		// Bob's own service is his, and alice cannot touch it either.
		require.NoError(t, bob.Register(ctx, svc("billing", "1", "b1")))
		requireACL(t, bobRaw, "/micro-registry/billing/b1", zk.DigestACL(zk.PermAll, "bob", "bob-pw"), worldRead)
		requireACL(t, bobRaw, "/micro-registry/billing", zk.DigestACL(zk.PermAll, "bob", "bob-pw"), worldRead)
		assert.ErrorIs(t, aliceRaw.Delete("/micro-registry/billing/b1", -1), zk.ErrNoAuth)
		_, err = aliceRaw.Set("/micro-registry/billing/b1", []byte("x"), -1)
		assert.ErrorIs(t, err, zk.ErrNoAuth)

		_, st, err := anonRaw.Get(a1)
		require.NoError(t, err)
		assert.Equal(t, peekSessionID(alice), st.EphemeralOwner)
	})

	t.Run("SquattedServiceDirectoryIsRefused", func(t *testing.T) {
		// Mallory creates the payments directory, open to all, before the
		// service's first registration.
		mallory := rawConn(t, srv.Addr)
		const dir = "/micro-registry/payments"
		_, err := mallory.Create(dir, nil, 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
		owner := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{digestAuth("payments", "pay-pw")}})
		err = owner.Register(ctx, svc("payments", "1", "p1"))
		require.Error(t, err, "the service's node must not be placed in a directory others control")
		for _, want := range []string{dir, "world:anyone:cdrwa", "OpenDirs", EnvOpenDirs, "setAcl"} {
			assert.Contains(t, err.Error(), want)
		}
		assert.NotContains(t, err.Error(), "pay-pw")
		children, _, err := anonRaw.Children(dir)
		require.NoError(t, err)
		assert.Empty(t, children, "nothing was written into the squatted directory")
		assert.Zero(t, peekRegistered(owner), "a refusal is not retried")

		// Another digest user's directory that lets anyone create is
		// foreign too, unless DirACL names that user.
		_, err = mallory.Create("/micro-registry/ledger", nil, 0, append(zk.DigestACL(zk.PermAll, "mallory", "m"), zk.WorldACL(zk.PermRead|zk.PermCreate)...))
		require.NoError(t, err)
		err = owner.Register(ctx, svc("ledger", "1", "l1"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "digest:mallory:x:cdrwa", "the hash ZooKeeper hides from non-admins stays hidden")

		// An operator who knows the directory (the older plugin's) accepts
		// it explicitly.
		migrating := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{digestAuth("payments", "pay-pw"), OpenDirs(true)}})
		require.NoError(t, migrating.Register(ctx, svc("payments", "1", "p1")))
		children, _, err = anonRaw.Children(dir)
		require.NoError(t, err)
		assert.Equal(t, []string{"p1"}, children)
	})

	t.Run("DirACLAuthorisesOtherCredentials", func(t *testing.T) {
		// Carol's service directory lets dave add nodes (CREATE) but not
		// delete any (DELETE is checked on the directory, so whoever may
		// delete one node in it may delete all of them).
		// Both run the service with the same DirACL, which names them.
		shared := append(append(
			zk.DigestACL(zk.PermAll, "carol", "carol-pw"),
			zk.DigestACL(zk.PermRead|zk.PermCreate, "dave", "dave-pw")...),
			zk.WorldACL(zk.PermRead)...)
		carol := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{digestAuth("carol", "carol-pw"), DirACL(shared...)}})
		dave := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{digestAuth("dave", "dave-pw"), DirACL(shared...)}})
		daveRaw := digestConn(t, srv.Addr, "dave", "dave-pw")
		carolRaw := digestConn(t, srv.Addr, "carol", "carol-pw")
		const c1, d1 = "/micro-registry/shared/c1", "/micro-registry/shared/d1"

		require.NoError(t, carol.Register(ctx, svc("shared", "1", "c1")))
		require.NoError(t, dave.Register(ctx, svc("shared", "1", "d1")), "dave may add his node")
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
		require.NoError(t, dave.Register(ctx, svc("shared", "1", "d1")), "dave keeps his own node")

		// The other side of ZooKeeper's model: the directory's owner may
		// delete dave's node, and dave's registry puts it back.
		require.NoError(t, carolRaw.Delete(d1, -1))
		zktest.Eventually(t, 10*time.Second, func() bool {
			_, st, err := anonRaw.Get(d1)
			return err == nil && st.EphemeralOwner == peekSessionID(dave)
		}, "dave's registry did not restore his node")

		// Nor can dave delete his own node: Deregister says so, forgets it,
		// and it goes with dave's session.
		err = dave.Deregister(ctx, svc("shared", "1", "d1"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not allowed to delete "+d1+": the ACL of /micro-registry/shared does not grant DELETE")
		assert.ErrorIs(t, err, zk.ErrNoAuth)
		require.NoError(t, dave.Close())
		zktest.Eventually(t, 10*time.Second, func() bool {
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
		wrong := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{Prefix("/provisioned"), digestAuth("inventory", "WRONG-pw")}})
		err = registerFails(t, wrong, svc("inventory", "1", "i1"),
			`zookeeper: register service "inventory" node "i1"`,
			"not allowed to create /provisioned/inventory: the ACL of /provisioned does not grant CREATE",
			`digest user "inventory"`, "wrong password")
		assert.NotContains(t, err.Error(), "WRONG-pw")

		// Without credentials, the same clear refusal.
		none := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{Prefix("/provisioned")}})
		registerFails(t, none, svc("inventory", "1", "i1"),
			"not allowed to create /provisioned/inventory", "no credentials")

		// Nothing was created, and nothing is being retried.
		ok, _, err := anonRaw.Exists("/provisioned/inventory")
		require.NoError(t, err)
		assert.False(t, ok)

		right := newTestRegistry(t, Options{Addrs: addrs, Settings: []Option{Prefix("/provisioned"), digestAuth("inventory", "right-pw")}})
		require.NoError(t, right.Register(ctx, svc("inventory", "1", "i1")))
		requireACL(t, digestConn(t, srv.Addr, "inventory", "right-pw"), "/provisioned/inventory/i1",
			zk.DigestACL(zk.PermAll, "inventory", "right-pw"), worldRead)
	})

	t.Run("SurvivesSessionExpiryWithTheSameACL", func(t *testing.T) {
		proxy, err := faultproxy.New(srv.Addr)
		require.NoError(t, err)
		defer proxy.Close()
		const sessionTimeout = time.Second
		eve := newTestRegistry(t, Options{Addrs: []string{proxy.Addr}, Settings: []Option{SessionTimeout(sessionTimeout), digestAuth("eve", "eve-pw")}})
		observer := newTestRegistry(t, Options{Addrs: addrs})

		require.NoError(t, eve.Register(ctx, svc("vault", "1", "v1", "v2")))
		w, err := observer.Watch(ctx, "vault", nil)
		require.NoError(t, err)
		defer w.Stop()
		eveAll := zk.DigestACL(zk.PermAll, "eve", "eve-pw")
		eveRaw := digestConn(t, srv.Addr, "eve", "eve-pw")
		for _, p := range []string{"/micro-registry/vault", "/micro-registry/vault/v1", "/micro-registry/vault/v2"} {
			requireACL(t, eveRaw, p, eveAll, worldRead)
		}
		oldSession := peekSessionID(eve)

		proxy.Partition()
		for i := 0; i < 2; i++ {
			assert.Equal(t, "delete", nextEvent(t, w, 10*sessionTimeout).Action)
		}
		proxy.Heal()
		for i := 0; i < 2; i++ {
			assert.Equal(t, "create", nextEvent(t, w, 15*time.Second).Action)
		}

		require.NotEqual(t, oldSession, peekSessionID(eve))
		for _, id := range []string{"v1", "v2"} {
			p := "/micro-registry/vault/" + id
			_, st, err := anonRaw.Get(p)
			require.NoError(t, err)
			assert.Equal(t, peekSessionID(eve), st.EphemeralOwner)
			requireACL(t, eveRaw, p, eveAll, worldRead)
			assert.ErrorIs(t, anonRaw.Delete(p, -1), zk.ErrNoAuth)
		}
		requireACL(t, eveRaw, "/micro-registry/vault", eveAll, worldRead)
	})
}

// ---- Chroot ----

func TestChroot(t *testing.T) {
	ctx := t.Context()
	t.Setenv(EnvAuth, "")
	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	prod := []string{srv.Addr + "/apps/prod"}

	r := newTestRegistry(t, Options{Addrs: prod})
	w, err := r.Watch(ctx, "", nil)
	require.NoError(t, err)
	defer w.Stop()

	require.NoError(t, r.Register(ctx, svc("greeter", "1", "g1")))
	ok, _, err := raw.Exists("/apps/prod/micro-registry/greeter/g1")
	require.NoError(t, err)
	assert.True(t, ok, "the node lives under the chroot")
	ok, _, err = raw.Exists("/micro-registry")
	require.NoError(t, err)
	assert.False(t, ok, "nothing is written outside the chroot")
	res := nextEvent(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "g1", res.Service.Nodes[0].Id)

	// A peer under the same chroot is seen by the watcher.
	peer := newTestRegistry(t, Options{Addrs: prod})
	require.NoError(t, peer.Register(ctx, svc("greeter", "1", "g2")))
	res = nextEvent(t, w, 10*time.Second)
	assert.Equal(t, "create", res.Action)
	assert.Equal(t, "g2", res.Service.Nodes[0].Id)

	// Registries outside the chroot, under another chroot, or with another
	// prefix under the same chroot are separate worlds.
	outside := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	require.NoError(t, outside.Register(ctx, svc("greeter", "1", "o1")))
	prefixed := newTestRegistry(t, Options{Addrs: prod, Settings: []Option{Prefix("/custom")}})
	require.NoError(t, prefixed.Register(ctx, svc("greeter", "1", "p1")))
	ok, _, err = raw.Exists("/apps/prod/custom/greeter/p1")
	require.NoError(t, err)
	assert.True(t, ok, "Prefix composes with the chroot")
	other := newTestRegistry(t, Options{Addrs: []string{srv.Addr + "/apps/test"}})

	list := func(r *Registry) []string {
		t.Helper()
		svcs, err := r.ListServices(ctx)
		require.NoError(t, err)
		return nodeIDs(svcs)
	}
	assert.Equal(t, []string{"g1", "g2"}, list(r))
	assert.Equal(t, []string{"g1", "g2"}, list(peer))
	assert.Equal(t, []string{"o1"}, list(outside))
	assert.Equal(t, []string{"p1"}, list(prefixed))
	assert.Empty(t, list(other))
	got, err := r.GetService(ctx, "greeter")
	require.NoError(t, err)
	assert.Equal(t, []string{"g1", "g2"}, nodeIDs(got))
	noEvent(t, w, 300*time.Millisecond)

	// The owner's watch works under the chroot: a node deleted by hand is
	// restored.
	require.NoError(t, raw.Delete("/apps/prod/micro-registry/greeter/g1", -1))
	zktest.Eventually(t, 10*time.Second, func() bool {
		_, st, err := raw.Get("/apps/prod/micro-registry/greeter/g1")
		return err == nil && st.EphemeralOwner == peekSessionID(r)
	}, "g1 was not restored under the chroot")

	require.NoError(t, peer.Deregister(ctx, svc("greeter", "1", "g2")))
	for {
		res = nextEvent(t, w, 10*time.Second)
		if res.Service.Nodes[0].Id == "g2" {
			break
		}
		require.Equal(t, "g1", res.Service.Nodes[0].Id, "only g1's restore may come first")
	}
	assert.Equal(t, "delete", res.Action)
	assert.Equal(t, []string{"g1"}, list(r))
}

// ---- TLS ----

func TestTLS(t *testing.T) {
	ctx := t.Context()
	for _, v := range []string{EnvAuth, EnvTLS, EnvTLSCA, EnvTLSCert, EnvTLSKey, EnvTLSServerName} {
		t.Setenv(v, "")
	}
	srv, secureAddr, pki := zktest.StartTLS(t)
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
		r := newTestRegistry(t, Options{Addrs: []string{secureAddr}, TLSConfig: pki.ClientTLS()})
		w, err := r.Watch(ctx, "tls-greeter", nil)
		require.NoError(t, err)
		defer w.Stop()
		require.NoError(t, r.Register(ctx, svc("tls-greeter", "1", "t1")))
		assert.Equal(t, peekSessionID(r), owner("/micro-registry/tls-greeter/t1"))
		got, err := r.GetService(ctx, "tls-greeter")
		require.NoError(t, err)
		assert.Equal(t, []string{"t1"}, nodeIDs(got))
		assert.Equal(t, "create", nextEvent(t, w, 10*time.Second).Action)
	})

	rogue := zktest.NewPKI(t, "rogue")
	failures := []struct {
		name string
		opts Options // Addrs default to secureAddr
		want []string
		as   any // an error type the chain must hold
	}{
		{"PlaintextClientAtTLSPort", Options{},
			[]string{secureAddr + " did not answer the session handshake", "registry.Secure", EnvTLS}, nil},
		{"UntrustedCA", Options{TLSConfig: &tls.Config{RootCAs: rogue.Pool, Certificates: []tls.Certificate{pki.Client}}},
			[]string{"TLS handshake with " + secureAddr, "certificate signed by unknown authority"}, new(x509.UnknownAuthorityError)},
		{"SecureVerifiesByDefault", Options{Secure: true},
			[]string{"TLS handshake with " + secureAddr, "certificate signed by unknown authority"}, new(x509.UnknownAuthorityError)},
		{"WrongServerName", Options{TLSConfig: &tls.Config{RootCAs: pki.Pool, Certificates: []tls.Certificate{pki.Client}, ServerName: "zk.example.com"}},
			[]string{"TLS handshake with " + secureAddr, "zk.example.com"}, new(x509.HostnameError)},
		{"NoClientCertificate", Options{TLSConfig: &tls.Config{RootCAs: pki.Pool}},
			[]string{"TLS handshake with " + secureAddr + ", refused by the server (if it requires a client certificate", EnvTLSCert, "tls: bad certificate"}, nil},
		{"TLSClientAtPlaintextPort", Options{Addrs: []string{srv.Addr}, TLSConfig: pki.ClientTLS()},
			[]string{"TLS handshake with " + srv.Addr, "a port that does not speak TLS", "secureClientPort"}, nil},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			const timeout = 3 * time.Second
			o := tt.opts
			if o.Addrs == nil {
				o.Addrs = []string{secureAddr}
			}
			addr := o.Addrs[0]
			o.Timeout = timeout
			r := newTestRegistry(t, o)
			start := time.Now()
			err := r.Register(ctx, svc("never", "1", "n1"))
			require.Error(t, err)
			assert.Less(t, time.Since(start), timeout+2*time.Second, "fails within the timeout")
			msg := err.Error()
			t.Log(msg)
			assert.True(t, strings.HasPrefix(msg, `zookeeper: register service "never": no session with `+addr), msg)
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
		t.Setenv(EnvTLSCA, pki.CAFile)
		t.Setenv(EnvTLSCert, pki.ClientCertFile)
		t.Setenv(EnvTLSKey, pki.ClientKeyFile)
		// As the faces build it for --registry=zookeeper: no options, then
		// the address.
		r := NewRegistry(Options{})
		t.Cleanup(func() { _ = r.Close() })
		require.NoError(t, r.Init(Options{Addrs: []string{secureAddr}}))
		require.NoError(t, r.Register(ctx, svc("env-tls", "1", "e1")))
		assert.Equal(t, peekSessionID(r), owner("/micro-registry/env-tls/e1"))

		t.Setenv(EnvTLSCA, filepath.Join(t.TempDir(), "missing.pem"))
		bad := newTestRegistry(t, Options{Addrs: []string{secureAddr}})
		err := bad.Register(ctx, svc("env-tls", "1", "e2"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), EnvTLSCA+": open ")
	})

	t.Run("SecretsAreNeverLogged", func(t *testing.T) {
		const password = "n0t-in-any-log"
		keyPEM, err := os.ReadFile(pki.ClientKeyFile)
		require.NoError(t, err)
		keyBody := strings.Split(string(keyPEM), "\n")[1]

		proxy, err := faultproxy.New(secureAddr)
		require.NoError(t, err)
		defer proxy.Close()
		t.Setenv(EnvTLSCA, pki.CAFile)
		t.Setenv(EnvTLSCert, pki.ClientCertFile)
		t.Setenv(EnvTLSKey, pki.ClientKeyFile)
		t.Setenv(EnvTLSServerName, "127.0.0.1")
		t.Setenv(EnvAuth, "digest:logged:"+password)
		log := &logRecorder{debug: true} // zk's own lines too
		o := Options{Addrs: []string{proxy.Addr}, Logger: log, Settings: []Option{SessionTimeout(testSessionTimeout)}}
		r := newTestRegistry(t, o)
		zktest.Retry(t, time.Minute, "register quiet q1 (before the reconnection)", isTransient, func() error {
			return r.Register(ctx, svc("quiet", "1", "q1"))
		})
		first := peekSessionID(r)

		// A reconnect makes zk re-send the credentials; a refusal names
		// the user in its error.
		proxy.Cut()
		zktest.Eventually(t, 10*time.Second, func() bool {
			return strings.Contains(log.text(), "re-submitting")
		}, "zk did not re-send the credentials after a reconnect")
		zktest.Retry(t, time.Minute, "register quiet q1 (after the reconnection)", isTransient, func() error {
			return r.Register(ctx, svc("quiet", "2", "q1"))
		})
		assert.Equal(t, first, peekSessionID(r))
		_, err = raw.Create("/locked", nil, 0, zk.WorldACL(zk.PermRead))
		require.NoError(t, err)
		o.Settings = append(o.Settings, Prefix("/locked"))
		require.NoError(t, r.Init(o))
		err = r.Register(ctx, svc("quiet", "1", "q2"))
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
