package zkconfig

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// kazoo runs a Python program with kazoo (Python's ZooKeeper client)
// connected to addr as zk, and returns what it prints; a missing kazoo
// fails the test (zktest.Kazoo): scripts/install-zookeeper.sh (make test)
// installs it.
func kazoo(t *testing.T, addr, program string) string {
	t.Helper()
	return zktest.Kazoo(t, addr, program)
}

// TestKazooWritesTheSourceDelivers: configuration written by another
// ZooKeeper client, Python's kazoo, in the layout of the package
// documentation, is what the source delivers; and what the source writes,
// kazoo reads as that layout.
func TestKazooWritesTheSourceDelivers(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/micro-config/greeter"))
	require.Equal(t, "{}", read(t, src))
	w := watch(t, src)

	kazoo(t, srv.Addr, `
zk.ensure_path("/micro-config/greeter/database")
tx = zk.transaction()
tx.create("/micro-config/greeter/greeting", b"Hej")
tx.create("/micro-config/greeter/database/port", b"3306")
tx.create("/micro-config/greeter/database/hosts", b'["db1","db2"]')
tx.create("/micro-config/greeter/a%2Fb", "ünï".encode())
assert all(r is True or isinstance(r, str) for r in tx.commit()), "transaction failed"
`)
	assert.Equal(t, `{"a/b":"ünï","database":{"hosts":["db1","db2"],"port":3306},"greeting":"Hej"}`, nextData(t, w))

	kazoo(t, srv.Addr, `zk.set("/micro-config/greeter/greeting", b"Hallo")`)
	assert.Equal(t, `{"a/b":"ünï","database":{"hosts":["db1","db2"],"port":3306},"greeting":"Hallo"}`, nextData(t, w))

	kazoo(t, srv.Addr, `zk.delete("/micro-config/greeter/database", recursive=True)`)
	assert.Equal(t, `{"a/b":"ünï","greeting":"Hallo"}`, nextData(t, w))

	require.NoError(t, writeDoc(src, `{"greeting":"Hi","limits":{"rps":100}}`))
	out := kazoo(t, srv.Addr, `
for p in ["/micro-config/greeter/greeting", "/micro-config/greeter/limits/rps"]:
    print(p, zk.get(p)[0].decode())
print(sorted(zk.get_children("/micro-config/greeter")))
`)
	assert.Equal(t, "/micro-config/greeter/greeting Hi\n/micro-config/greeter/limits/rps 100\n['greeting', 'limits']", strings.TrimSpace(out))
}
