package zkconfig

import (
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config"
	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Issue 19, item 2: anyone may create a configuration's prefix (or a key)
// with an open ACL before the service's first Write, and then add keys
// every service loads. With credentials the source refuses such a
// subtree, as the registry refuses a squatted service directory.

func TestSquattedPrefixIsRefused(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	t.Setenv(engine.EnvOpenDirs, "")
	srv := zktest.Start(t)
	const prefix = "/micro-config/payments"
	squatter := rawZK(t, srv.Addr)
	put(t, squatter, prefix, "") // world:anyone:cdrwa, before the service

	svc := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix), Auth("digest", []byte("svc:pw")), Private())
	err := writeDoc(svc, `{"db":{"pass":"s3cret"}}`)
	require.Error(t, err, "the secrets are not written into the squatted prefix")
	assert.Contains(t, err.Error(), "zookeeper: read /micro-config/payments: /micro-config/payments has ACL entry world:anyone:cdrwa, which lets an identity other than")
	assert.Contains(t, err.Error(), "OpenTree(true) or MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS=true")
	require.Error(t, SetKey(svc, []byte(`"s3cret"`), "db", "pass"))
	kids, _, err := squatter.Children(prefix)
	require.NoError(t, err)
	assert.Empty(t, kids, "nothing written")

	// What the squatter adds never reaches the service.
	put(t, squatter, prefix+"/injected", "attacker")
	_, err = svc.Read()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/micro-config/payments has ACL entry world:anyone:cdrwa")
	_, err = config.NewConfig(config.WithSource(svc))
	require.Error(t, err, "a go-micro config fails to load, rather than load the squatter's keys")

	// Without credentials nothing is judged: everything is open anyway.
	anon := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix))
	assert.Equal(t, `{"injected":"attacker"}`, read(t, anon))

	// Accepted explicitly: OpenTree(true), or the registry's variable
	// (which OpenTree(false) overrides).
	open := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix), Auth("digest", []byte("svc:pw")), OpenTree(true))
	assert.Equal(t, `{"injected":"attacker"}`, read(t, open))
	t.Setenv(engine.EnvOpenDirs, "true")
	fromEnv := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix), Auth("digest", []byte("svc:pw")))
	assert.Equal(t, `{"injected":"attacker"}`, read(t, fromEnv))
	strict := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix), Auth("digest", []byte("svc:pw")), OpenTree(false))
	_, err = strict.Read()
	require.Error(t, err)
	t.Setenv(engine.EnvOpenDirs, "maybe")
	bad := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix), Auth("digest", []byte("svc:pw")))
	_, err = bad.Read()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS="maybe" is not a boolean`)
}

// A key left open (zkCli's create gives world:anyone:cdrwa, credentials
// or not) lets anyone change it or add keys below it: from then on the
// source's watchers hand out nothing, and log why once, until it is fixed.
func TestSquattedKeyNeverReachesWatchers(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	t.Setenv(engine.EnvOpenDirs, "")
	srv := zktest.Start(t)
	const prefix = "/micro-config/payments"
	logs := newRecLogger()
	svc := newSource(t, WithAddress(srv.Addr), WithPrefix(prefix), Auth("digest", []byte("svc:pw")), Private(), Logger(logs))
	require.NoError(t, writeDoc(svc, `{"db":{"host":"db1"},"greeting":"Hi"}`))
	assert.Equal(t, `{"db":{"host":"db1"},"greeting":"Hi"}`, read(t, svc))
	w := watch(t, svc)
	type result struct {
		cs  *source.ChangeSet
		err error
	}
	got := make(chan result, 1)
	go func() {
		cs, err := w.Next()
		got <- result{cs, err}
	}()

	// An operator, with the service's credentials, adds a key with zkCli.
	operator := rawZK(t, srv.Addr, "svc:pw")
	_, err := operator.Create(prefix+"/db/host2", []byte("db2"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	zktest.WaitFor(t, 10*time.Second, "the open key refused", func() error {
		if _, err := svc.Read(); err == nil {
			return errors.New("read succeeds")
		}
		return nil
	})
	_, err = svc.Read()
	assert.Contains(t, err.Error(), "/micro-config/payments/db/host2 has ACL entry world:anyone:cdrwa")
	require.Error(t, SetKey(svc, []byte(`"Hej"`), "greeting"), "nor is anything written")

	// Anyone changes it and adds below it.
	squatter := rawZK(t, srv.Addr)
	_, err = squatter.Set(prefix+"/db/host2", []byte("evil"), -1)
	require.NoError(t, err)
	_, err = squatter.Create(prefix+"/db/host2/injected", []byte("attacker"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	const refusal = "/micro-config/payments/db/host2 has ACL entry world:anyone:cdrwa"
	zktest.Eventually(t, 10*time.Second, func() bool { return len(logs.matching(refusal)) > 0 }, "the watcher logs the refusal")

	// Fixed: the open key deleted. The next configuration the watcher
	// hands out holds none of it.
	require.NoError(t, operator.Delete(prefix+"/db/host2/injected", -1))
	require.NoError(t, operator.Delete(prefix+"/db/host2", -1))
	zktest.WaitFor(t, 10*time.Second, "the source reads again", func() error {
		_, err := svc.Read()
		return err
	})
	require.NoError(t, SetKey(svc, []byte(`"Hej"`), "greeting"))
	select {
	case r := <-got:
		require.NoError(t, r.err)
		assert.Equal(t, `{"db":{"host":"db1"},"greeting":"Hej"}`, string(r.cs.Data), "the first configuration handed out since the open key appeared")
	case <-time.After(nextTimeout):
		t.Fatalf("no change set within %v", nextTimeout)
	}
	assert.Len(t, logs.matching(refusal), 1, "logged once")
}

// The identities the ACL option names may change the configuration's
// znodes: a subtree an operator's identity shares is not refused.
func TestIdentitiesTheACLOptionNamesAreAccepted(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	t.Setenv(engine.EnvOpenDirs, "")
	srv := zktest.Start(t)
	ops := zk.DigestACL(zk.PermAll, "ops", "o")
	shared := append(zk.DigestACL(zk.PermAll, "svc", "pw"), ops...)
	_, err := rawZK(t, srv.Addr, "ops:o").Create("/shared", nil, 0, shared)
	require.NoError(t, err)

	alone := newSource(t, WithAddress(srv.Addr), WithPrefix("/shared"), Auth("digest", []byte("svc:pw")))
	_, err = alone.Read()
	require.Error(t, err, "ops is another identity")
	assert.Contains(t, err.Error(), "/shared has ACL entry digest:ops:")

	named := newSource(t, WithAddress(srv.Addr), WithPrefix("/shared"), Auth("digest", []byte("svc:pw")), ACL(shared...))
	require.NoError(t, SetKey(named, []byte(`"v"`), "k"))
	assert.Equal(t, `{"k":"v"}`, read(t, named))
}
