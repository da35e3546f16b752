package zkconfig

import (
	"context"
	"fmt"
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
