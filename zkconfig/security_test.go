package zkconfig

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// aclOf returns the ACL of p as "scheme:id:perms" entries; a digest id
// shows its user only (ZooKeeper redacts the hash).
func aclOf(t *testing.T, c *zk.Conn, p string) []string {
	t.Helper()
	acl, _, err := c.GetACL(p)
	require.NoError(t, err, p)
	return aclStrings(acl)
}

func aclStrings(acl []zk.ACL) []string {
	var out []string
	for _, a := range acl {
		id := a.ID
		if a.Scheme == "digest" {
			id, _, _ = strings.Cut(id, ":")
		}
		out = append(out, fmt.Sprintf("%s:%s:%d", a.Scheme, id, a.Perms))
	}
	return out
}

func writeDoc(s source.Source, doc string) error {
	return s.Write(&source.ChangeSet{Format: "json", Data: []byte(doc)})
}

func TestACLWithoutCredentials(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/greeter"))
	require.NoError(t, writeDoc(src, `{"greeting":"Hi"}`))
	for _, p := range []string{"/micro-config", "/micro-config/greeter", "/micro-config/greeter/greeting"} {
		assert.Equal(t, []string{"world:anyone:31"}, aclOf(t, c, p), p)
	}
}

func TestACLWithCredentials(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/greeter"), Auth("digest", []byte("alice:secret")))
	require.NoError(t, writeDoc(src, `{"greeting":"Hi","db":{"password":"pw"}}`))

	// Ancestors: everyone reads and creates (other services put their
	// configuration beside). The configuration: everyone reads, only
	// alice changes.
	assert.Equal(t, []string{"digest:alice:31", "world:anyone:5"}, aclOf(t, c, "/micro-config"), "READ|CREATE for everyone")
	for _, p := range []string{"/micro-config/greeter", "/micro-config/greeter/greeting", "/micro-config/greeter/db/password"} {
		assert.Equal(t, []string{"digest:alice:31", "world:anyone:1"}, aclOf(t, c, p), p)
	}

	// Without the credentials: read, but not write; the error says why.
	anon := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/greeter"))
	assert.Equal(t, `{"db":{"password":"pw"},"greeting":"Hi"}`, read(t, anon))
	err := writeDoc(anon, `{"greeting":"Hacked"}`)
	require.ErrorIs(t, err, zk.ErrNoAuth)
	assert.Contains(t, err.Error(), "zookeeper: write /micro-config/greeter: not allowed to")
	assert.Contains(t, err.Error(), "this client, which has no credentials")
	assert.Equal(t, `{"db":{"password":"pw"},"greeting":"Hi"}`, read(t, src), "nothing changed")

	// Another service, other credentials, beside it.
	bob := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/other"), Auth("digest", []byte("bob:pw")))
	require.NoError(t, writeDoc(bob, `{"k":1}`))
}

func TestACLFromTheRegistryEnvironment(t *testing.T) {
	t.Setenv(engine.EnvAuth, "digest:alice:secret")
	srv := zktest.Start(t)
	alice := rawZK(t, srv.Addr, "alice:secret")
	src := newSource(t, WithAddress(srv.Addr), Private())
	require.NoError(t, writeDoc(src, `{"k":"v"}`))
	assert.Equal(t, []string{"digest:alice:31"}, aclOf(t, alice, "/micro-config/k"))
}

func TestPrivate(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	srv := zktest.Start(t)
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/payments"), Auth("digest", []byte("alice:secret")), Private())
	require.NoError(t, writeDoc(src, `{"api-key":"s3cr3t","db":{"password":"pw"}}`))

	c, alice := rawZK(t, srv.Addr), rawZK(t, srv.Addr, "alice:secret")
	for _, p := range []string{"/micro-config/payments", "/micro-config/payments/api-key", "/micro-config/payments/db", "/micro-config/payments/db/password"} {
		assert.Equal(t, []string{"digest:alice:31"}, aclOf(t, alice, p), p)
	}
	assert.Equal(t, []string{"digest:alice:31", "world:anyone:5"}, aclOf(t, c, "/micro-config"), "ancestors keep the default")
	_, _, err := c.Get("/micro-config/payments/api-key")
	require.ErrorIs(t, err, zk.ErrNoAuth, "an unauthenticated client cannot read it")
	_, _, err = c.Children("/micro-config/payments")
	require.ErrorIs(t, err, zk.ErrNoAuth, "nor list it")

	// A source without the credentials fails at once, saying why. (Had
	// Read waited instead, it would fail after sourceTimeout with the
	// deadline, saying the subtree is not in sync.)
	anon := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/payments"))
	_, err = anon.Read()
	require.ErrorIs(t, err, zk.ErrNoAuth)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "a refusal is not waited out")
	assert.Contains(t, err.Error(), "zookeeper: read /micro-config/payments: not allowed to read /micro-config/payments: its ACL does not grant READ")
	// Wrong credentials: the same.
	mallory := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/payments"), Auth("digest", []byte("alice:guess")))
	_, err = mallory.Read()
	require.ErrorIs(t, err, zk.ErrNoAuth)

	// The right ones read.
	again := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/payments"), Auth("digest", []byte("alice:secret")))
	assert.Equal(t, `{"api-key":"s3cr3t","db":{"password":"pw"}}`, read(t, again))
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv, secureAddr, pki := zktest.StartTLS(t)
	_ = srv
	src := newSource(t, WithAddress(secureAddr), TLSConfig(pki.ClientTLS()))
	require.NoError(t, writeDoc(src, `{"over":"tls"}`))
	assert.Equal(t, `{"over":"tls"}`, read(t, src))

	plain := newSource(t, WithAddress(secureAddr), Timeout(2*time.Second))
	_, err := plain.Read()
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "did not answer the session handshake", "the last connection error says why")
}

// Issue 19, item 1: a key that a writer without Private added to a private
// configuration got the writer's ACL, world-readable, and an anonymous
// client read it by its path (ZooKeeper checks READ on the znode alone).
// A new key takes its parent's ACL, whatever writes it.
func TestNewKeysInAPrivateConfigurationStayPrivate(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	srv := zktest.Start(t)
	const prefix = "/micro-config/payments"
	private := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix), Auth("digest", []byte("svc:pw")), Private())
	require.NoError(t, writeDoc(private, `{"db":{"pass":"s3cret"}}`))

	// The same credentials without Private, as zkmicro config set has them.
	plain := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix), Auth("digest", []byte("svc:pw")))
	require.NoError(t, SetKey(plain, []byte(`"TOPSECRET"`), "db", "newsecret"))
	require.NoError(t, SetKey(plain, []byte(`{"user":"svc","pass":"x"}`), "replica"))
	require.NoError(t, writeDoc(plain, `{"db":{"newsecret":"TOPSECRET","pass":"s3cret"},"replica":{"pass":"x","user":"svc"},"top":"t"}`))
	assert.Equal(t, `{"db":{"newsecret":"TOPSECRET","pass":"s3cret"},"replica":{"pass":"x","user":"svc"},"top":"t"}`, read(t, plain))

	anon, svc := rawZK(t, srv.Addr), rawZK(t, srv.Addr, "svc:pw")
	for _, p := range []string{"/db/newsecret", "/replica", "/replica/user", "/replica/pass", "/top"} {
		assert.Equal(t, []string{"digest:svc:31"}, aclOf(t, svc, prefix+p), p)
		_, _, err := anon.Get(prefix + p)
		assert.ErrorIs(t, err, zk.ErrNoAuth, "an anonymous client reads %s by its path", p)
	}

	// Without credentials a source reads no ACL, and cannot read this
	// configuration, let alone add to it.
	anonSrc := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix))
	err := SetKey(anonSrc, []byte(`"x"`), "db", "anon")
	require.ErrorIs(t, err, zk.ErrNoAuth)
	exists, _, err := svc.Exists(prefix + "/db/anon")
	require.NoError(t, err)
	assert.False(t, exists)

	// Private makes a key private below a public object too.
	public := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/public"), Auth("digest", []byte("svc:pw")))
	require.NoError(t, writeDoc(public, `{"greeting":"Hi"}`))
	privateKey := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/public"), Auth("digest", []byte("svc:pw")), Private())
	require.NoError(t, SetKey(privateKey, []byte(`"s3cret"`), "token"))
	assert.Equal(t, []string{"digest:svc:31"}, aclOf(t, svc, "/micro-config/public/token"))
	assert.Equal(t, []string{"digest:svc:31", "world:anyone:1"}, aclOf(t, svc, "/micro-config/public/greeting"))
}

// A writer without ADMIN on a znode is shown its digest entries without
// their hashes (user:x), which a create cannot name: the new key is given
// the writer's own identities in their place, never anyone else.
func TestNewKeysWhereTheServerHidesHashes(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	srv := zktest.Start(t)
	opsConn := rawZK(t, srv.Addr, "ops:o")
	opsACL := zk.DigestACL(zk.PermAll, "ops", "o")
	svcACL := zk.DigestACL(zk.PermRead|zk.PermWrite|zk.PermCreate|zk.PermDelete, "svc", "pw") // no ADMIN
	_, err := opsConn.Create("/cfg", nil, 0, append(slices.Clone(opsACL), svcACL...))
	require.NoError(t, err)

	// ops is named by the ACL option: its entry is accepted.
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg"), Auth("digest", []byte("svc:pw")), ACL(opsACL...))
	svcConn := rawZK(t, srv.Addr, "svc:pw")
	assert.Equal(t, []string{"digest:ops:31", "digest:svc:15"}, aclOf(t, svcConn, "/cfg"))
	acl, _, err := svcConn.GetACL("/cfg")
	require.NoError(t, err)
	assert.Equal(t, "ops:x", acl[0].ID, "the server hides the hashes from svc")

	require.NoError(t, SetKey(src, []byte(`"v1"`), "k"))
	assert.Equal(t, []string{"digest:svc:15"}, aclOf(t, svcConn, "/cfg/k"), "svc's rights on /cfg, ADMIN excepted; ops's entry cannot be named")
	_, _, err = opsConn.Get("/cfg/k")
	assert.ErrorIs(t, err, zk.ErrNoAuth, "narrower than its parent, never wider")
	_, _, err = rawZK(t, srv.Addr).Get("/cfg/k")
	assert.ErrorIs(t, err, zk.ErrNoAuth)
	require.NoError(t, SetKey(src, []byte(`"v2"`), "k"), "the writer can change what it wrote")
	assert.Equal(t, `{"k":"v2"}`, read(t, src))
}
