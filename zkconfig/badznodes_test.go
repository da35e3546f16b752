package zkconfig

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// TestBadZnodes puts under the prefix what a careless operator or another
// program might: binary data, broken JSON, values near ZooKeeper's 1 MB,
// names that are not escaped keys, data on a znode with children. Reading
// never fails nor blocks: what cannot be represented is a string or left
// out, and each left out znode is logged once.
func TestBadZnodes(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	big := strings.Repeat("x", 1000*1000)
	put(t, c, "/micro-config/binary", "\xff\xfe\x00\x01")
	put(t, c, "/micro-config/broken", `{"a":`)
	put(t, c, "/micro-config/big", big)
	put(t, c, "/micro-config/a%2Fb", "escaped key a/b")
	put(t, c, "/micro-config/100%", "not an escaped key")
	put(t, c, "/micro-config/%41", "not the canonical escape of A")
	put(t, c, "/micro-config/dir/k", "1")
	_, err := c.Set("/micro-config/dir", []byte("data of a znode with children"), -1)
	require.NoError(t, err)
	// A znode this client may not read.
	_, err = c.Create("/micro-config/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "other", "pw"))
	require.NoError(t, err)

	logs := newRecLogger()
	src := newSource(t, WithAddress(srv.Addr), Logger(logs))
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(read(t, src)), &doc))
	w := watch(t, src)
	require.True(t, doc["big"] == big, "the near-1 MB value") // not Equal: a failure would print a megabyte
	delete(doc, "big")
	assert.Equal(t, map[string]any{
		"a/b":    "escaped key a/b",
		"broken": `{"a":`,
		"dir":    map[string]any{"k": float64(1)},
	}, doc)
	for _, want := range []string{
		"/micro-config/binary: data is not UTF-8 text",
		"/micro-config/100%: name is not an escaped configuration key",
		"/micro-config/%41: name is not an escaped configuration key",
		"/micro-config/dir: data ignored: the znode has children",
		"/micro-config/secret: not readable: zk: not authenticated",
	} {
		assert.Len(t, logs.matching(want), 1, want)
	}

	// A change elsewhere: the same znodes are left out, and not logged
	// again.
	put(t, c, "/micro-config/fine", "ok")
	assert.True(t, strings.Contains(nextData(t, w), `"fine":"ok"`), "the change")
	assert.Len(t, logs.matching("/micro-config/binary"), 1)

	// Writing back what was read leaves them alone.
	cs, err := src.Read()
	require.NoError(t, err)
	require.NoError(t, src.Write(cs))
	data, _, err := c.Get("/micro-config/binary")
	require.NoError(t, err)
	assert.Equal(t, "\xff\xfe\x00\x01", string(data))
	_, _, err = c.Get("/micro-config/100%")
	require.NoError(t, err)

	// A near-1 MB value written and pushed.
	big2 := strings.Repeat("y", 1000*1000)
	require.NoError(t, src.Write(&source.ChangeSet{Format: "json", Data: []byte(`{"big":"` + big2 + `","fine":"ok"}`)}))
	assert.True(t, strings.Contains(nextData(t, w), big2), "the near-1 MB change")
	data, _, err = c.Get("/micro-config/big")
	require.NoError(t, err)
	assert.True(t, big2 == string(data), "the near-1 MB value stored")
}

// Issue 19, item 3: encoding/json reads at most 10,000 levels, and a value
// that another client (kazoo, zkCli) wrote 4 znodes down, nested 9,997
// deep, made the whole document undecodable: every service failed to load
// its configuration. The znode is left out and logged once; every other
// key loads. SetKey refuses such a value.
func TestADeepValueLeavesEveryOtherKeyReadable(t *testing.T) {
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/micro-config/greeting", "Hi")
	put(t, c, "/micro-config/a/b/c/d", strings.Repeat("[", 9997)+strings.Repeat("]", 9997))

	logs := newRecLogger()
	src := newSource(t, WithAddress(srv.Addr), Logger(logs))
	conf := newConfig(t, src)
	assert.Equal(t, "Hi", configValue(t, conf, "greeting").String(""))
	assert.Equal(t, `{"a":{"b":{"c":{}}},"greeting":"Hi"}`, read(t, src))
	assert.Len(t, logs.matching("/micro-config/a/b/c/d: value nested too deep: nested 9997 deep inside 4 objects, the document would nest 10001 levels"), 1)

	err := SetKey(src, []byte(strings.Repeat("[", 9998)+strings.Repeat("]", 9998)), "x", "y", "z")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `zookeeper: config value at ["x" "y" "z"] would make the configuration unreadable`)
	exists, _, err := c.Exists("/micro-config/x")
	require.NoError(t, err)
	assert.False(t, exists, "nothing written")
}
