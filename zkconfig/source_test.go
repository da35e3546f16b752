package zkconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Tests of the source against a real ZooKeeper.

func TestReadsANestedTree(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/micro-config/database/address", "10.0.0.7")
	put(t, c, "/micro-config/database/port", "3306")
	put(t, c, "/micro-config/database/tags", `["a","b"]`)
	put(t, c, "/micro-config/database/pool/max", "20")
	put(t, c, "/micro-config/greeting", `"42"`)
	put(t, c, "/micro-config/limits", "{}")
	put(t, c, "/micro-config/json", `{"b": 1, "a": [1, 2.50, null]}`)
	put(t, c, "/micro-config/debug", "true")
	put(t, c, "/other/x", "not under the prefix")

	src := newSource(t, WithAddress(srv.Addr))
	cs, err := src.Read()
	require.NoError(t, err)
	assert.Equal(t, `{"database":{"address":"10.0.0.7","pool":{"max":20},"port":3306,"tags":["a","b"]},`+
		`"debug":true,"greeting":"42","json":{"a":[1,2.50,null],"b":1},"limits":{}}`, string(cs.Data))
	assert.Equal(t, "json", cs.Format)
	assert.Equal(t, "zookeeper", cs.Source)
	assert.Equal(t, cs.Sum(), cs.Checksum)
	assert.False(t, cs.Timestamp.IsZero())
	assert.Equal(t, "zookeeper", src.String())

	// A missing prefix is an empty configuration.
	assert.Equal(t, "{}", read(t, newSource(t, WithAddress(srv.Addr), WithPrefix("/nothing/here"))))
	// A chroot ends the address list, as in the registry.
	put(t, c, "/apps/prod/micro-config/k", "v")
	assert.Equal(t, `{"k":"v"}`, read(t, newSource(t, WithAddress(srv.Addr+"/apps/prod"))))
}

func TestWatchReportsEveryChange(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg"))
	assert.Equal(t, "{}", read(t, src))
	w := watch(t, src)

	put(t, c, "/cfg/a", "1")
	assert.Equal(t, `{"a":1}`, nextData(t, w), "create")
	put(t, c, "/cfg/a", "2")
	assert.Equal(t, `{"a":2}`, nextData(t, w), "change")
	// A branch created in one multi shows whole. (Created by two writes,
	// it could show in between, as {"b":""}.)
	_, err := c.Multi(
		&zk.CreateRequest{Path: "/cfg/b", Data: []byte{}, Acl: zk.WorldACL(zk.PermAll)},
		&zk.CreateRequest{Path: "/cfg/b/c", Data: []byte("x"), Acl: zk.WorldACL(zk.PermAll)},
	)
	require.NoError(t, err)
	assert.Equal(t, `{"a":2,"b":{"c":"x"}}`, nextData(t, w), "a new branch")
	require.NoError(t, c.Delete("/cfg/a", -1))
	assert.Equal(t, `{"b":{"c":"x"}}`, nextData(t, w), "delete")
	// A change that does not change the configuration is not reported:
	// the same data set again, then a real change.
	put(t, c, "/cfg/b/c", "x")
	put(t, c, "/cfg/b/c", "y")
	assert.Equal(t, `{"b":{"c":"y"}}`, nextData(t, w))
	// The prefix deleted (in one multi: three separate deletes could show
	// the states in between, such as {"b":""}) and created again.
	_, err = c.Multi(
		&zk.DeleteRequest{Path: "/cfg/b/c", Version: -1},
		&zk.DeleteRequest{Path: "/cfg/b", Version: -1},
		&zk.DeleteRequest{Path: "/cfg", Version: -1},
	)
	require.NoError(t, err)
	assert.Equal(t, `{}`, nextData(t, w))
	put(t, c, "/cfg/back", "1")
	assert.Equal(t, `{"back":1}`, nextData(t, w))
}

func TestWatchCoalescesBurstsAndNeverGoesBack(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/cfg/n", "0")
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg"))
	require.Equal(t, `{"n":0}`, read(t, src))
	w := watch(t, src)

	const writes = 200
	for i := 1; i <= writes; i++ {
		_, err := c.Set("/cfg/n", []byte(strconv.Itoa(i)), -1)
		require.NoError(t, err)
	}
	seen, last := 0, 0
	for last < writes {
		var doc struct{ N int }
		cs := next(t, w)
		require.NoError(t, json.Unmarshal(cs.Data, &doc))
		require.Greater(t, doc.N, last, "an older state after a newer one")
		last = doc.N
		seen++
	}
	t.Logf("%d writes seen as %d change sets", writes, seen)
}

func TestWriteThenRead(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	src := newSource(t, WithAddress(srv.Addr+"/chroot"), WithPrefix("/apps/greeter"))
	w := watch(t, src)

	doc := `{"database":{"address":"10.0.0.7","port":3306,"tags":["a","b"]},"greeting":"Hi","limits":{},"quoted":"42","a/b":1}`
	require.NoError(t, src.Write(&source.ChangeSet{Format: "json", Data: []byte(doc)}))
	want := `{"a/b":1,"database":{"address":"10.0.0.7","port":3306,"tags":["a","b"]},"greeting":"Hi","limits":{},"quoted":"42"}`
	assert.Equal(t, want, read(t, src), "a Read after Write sees it")
	assert.Equal(t, want, nextData(t, w), "watchers see it")
	assert.Equal(t, map[string]string{
		"/chroot/apps/greeter":                  "",
		"/chroot/apps/greeter/a%2Fb":            "1",
		"/chroot/apps/greeter/database":         "",
		"/chroot/apps/greeter/database/address": "10.0.0.7",
		"/chroot/apps/greeter/database/port":    "3306",
		"/chroot/apps/greeter/database/tags":    `["a","b"]`,
		"/chroot/apps/greeter/greeting":         "Hi",
		"/chroot/apps/greeter/limits":           "{}",
		"/chroot/apps/greeter/quoted":           `"42"`,
	}, dump(t, c, "/chroot/apps/greeter"), "the layout of the package doc")

	// Writing what was read changes nothing.
	_, before, err := c.Get("/chroot/apps/greeter/greeting")
	require.NoError(t, err)
	cs, err := src.Read()
	require.NoError(t, err)
	require.NoError(t, src.Write(cs))
	_, after, err := c.Get("/chroot/apps/greeter/greeting")
	require.NoError(t, err)
	assert.Equal(t, before.Mzxid, after.Mzxid)

	// Keys missing from the document are deleted.
	require.NoError(t, src.Write(&source.ChangeSet{Format: "json", Data: []byte(`{"greeting":"Hej","database":{"port":3307}}`)}))
	assert.Equal(t, `{"database":{"port":3307},"greeting":"Hej"}`, read(t, src))
	assert.Equal(t, `{"database":{"port":3307},"greeting":"Hej"}`, nextData(t, w))
	assert.Len(t, dump(t, c, "/chroot/apps/greeter"), 4)

	// Invalid input is refused, saying why, and changes nothing.
	stored := dump(t, c, "/chroot")
	for _, tt := range []struct {
		name string
		cs   *source.ChangeSet
		want string
	}{
		{"nil", nil, "zookeeper: config write: change set is nil"},
		{"yaml", &source.ChangeSet{Format: "yaml", Data: []byte("a: 1")}, `format "yaml" is not supported`},
		{"not JSON", &source.ChangeSet{Format: "json", Data: []byte(`{"a":`)}, "zookeeper: config document is not JSON"},
		{"not an object", &source.ChangeSet{Format: "json", Data: []byte(`[1,2]`)}, "zookeeper: config document is not a JSON object"},
		{"empty key", &source.ChangeSet{Format: "json", Data: []byte(`{"a":{"":1}}`)}, "empty key"},
		{"dot key", &source.ChangeSet{Format: "json", Data: []byte(`{"..":1}`)}, `key ".." is reserved`},
		{"duplicate key", &source.ChangeSet{Format: "json", Data: []byte(`{"a":1,"a":2}`)}, "key appears twice"},
		{"not UTF-8", &source.ChangeSet{Format: "json", Data: []byte("{\"a\":\"\xff\"}")}, "not UTF-8"},
		{"lone surrogate in a value", &source.ChangeSet{Format: "json", Data: []byte(`{"a":"\udc00"}`)}, `not text: it holds \udc00`},
		{"lone surrogate in a key", &source.ChangeSet{Format: "json", Data: []byte(`{"\ud800":1}`)}, `not text: it holds \ud800`},
		{"too large", &source.ChangeSet{Format: "json", Data: []byte(`{"big":"` + strings.Repeat("x", 1<<20) + `"}`)}, "over ZooKeeper's limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := src.Write(tt.cs)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
		})
	}
	assert.Equal(t, stored, dump(t, c, "/chroot"), "a refused write changes nothing")
}

func TestConcurrentWritersNeverHalfApply(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	a := newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg"))
	b := newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg"))
	docs := map[source.Source]string{
		a: `{"owner":"a","shared":{"x":1,"y":1},"only-a":true}`,
		b: `{"owner":"b","shared":{"x":2,"z":2}}`,
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 20 {
		for s, doc := range docs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Write(&source.ChangeSet{Format: "json", Data: []byte(doc)})
			}()
		}
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			assert.Contains(t, err.Error(), "the subtree kept changing", "only contention may fail a valid write")
		}
	}
	t.Logf("%d of 40 contending writes gave up", failed)
	// Whatever the interleaving, the subtree holds one document whole.
	final := read(t, newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg")))
	assert.Contains(t, []string{
		`{"only-a":true,"owner":"a","shared":{"x":1,"y":1}}`,
		`{"owner":"b","shared":{"x":2,"z":2}}`,
	}, final)
}

func TestWatchersShareTheSourceAndStop(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/cfg", "")
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg"))
	require.Equal(t, "{}", read(t, src))
	ws := []source.Watcher{watch(t, src), watch(t, src), watch(t, src)}
	reads := src.(*zkSource).tree.Stats().Reads
	put(t, c, "/cfg/k", "v")
	for _, w := range ws {
		assert.Equal(t, `{"k":"v"}`, nextData(t, w))
	}
	// One copy of the subtree: the new key was read once (its data and
	// children), and the prefix listed once, for all three watchers.
	assert.Equal(t, reads+3, src.(*zkSource).tree.Stats().Reads)

	// Stop ends a Next in progress, and every later one.
	done := make(chan error, 1)
	go func() {
		_, err := ws[0].Next()
		done <- err
	}()
	require.NoError(t, ws[0].Stop())
	require.ErrorIs(t, <-done, source.ErrWatcherStopped)
	_, err := ws[0].Next()
	require.ErrorIs(t, err, source.ErrWatcherStopped)
	require.NoError(t, ws[0].Stop(), "idempotent")

	// The others go on.
	put(t, c, "/cfg/k", "w")
	assert.Equal(t, `{"k":"w"}`, nextData(t, ws[1]))
	// (ws[2] takes the change too, so that its next Next waits.)
	assert.Equal(t, `{"k":"w"}`, nextData(t, ws[2]))

	// Close stops them all, and the source.
	go func() {
		_, err := ws[2].Next()
		done <- err
	}()
	require.NoError(t, src.(io.Closer).Close())
	require.ErrorIs(t, <-done, source.ErrWatcherStopped)
	_, err = ws[1].Next()
	require.ErrorIs(t, err, source.ErrWatcherStopped)
	_, err = src.Read()
	require.ErrorIs(t, err, errClosed)
	_, err = src.Watch()
	require.ErrorIs(t, err, errClosed)
	require.ErrorIs(t, src.Write(&source.ChangeSet{Format: "json", Data: []byte(`{}`)}), errClosed)
	require.NoError(t, src.(io.Closer).Close(), "idempotent")
}

func TestWatchBeforeRead(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/cfg/k", "v")
	src := newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg"))
	w := watch(t, src)
	assert.Equal(t, `{"k":"v"}`, nextData(t, w), "a source never read: the configuration at once")

	// A watcher starts where the source's last Read left off: a change
	// between go-micro's Read and Watch is not lost.
	src2 := newSource(t, WithAddress(srv.Addr), WithPrefix("/cfg"))
	require.Equal(t, `{"k":"v"}`, read(t, src2))
	put(t, c, "/cfg/k", "between Read and Watch")
	zktest.Eventually(t, nextTimeout, func() bool {
		s, _ := src2.(*zkSource).tree.Latest()
		return s != nil && string(s.Nodes["/k"].Data) == "between Read and Watch"
	}, "the source never saw the change")
	w2 := watch(t, src2)
	assert.Equal(t, `{"k":"between Read and Watch"}`, nextData(t, w2))
}

func TestInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []source.Option
		want string
	}{
		{"prefix", []source.Option{WithPrefix("relative")}, "zookeeper: prefix"},
		{"address", []source.Option{WithAddress("host:notaport")}, "no valid port"},
		{"timeout", []source.Option{Timeout(-1)}, "timeout -1ns is negative"},
		{"private without credentials", []source.Option{Private()}, "Private needs credentials"},
		{"private and ACL", []source.Option{Private(), Auth("digest", []byte("u:p")), ACL(zk.WorldACL(zk.PermAll)...)}, "Private and ACL cannot be combined"},
		{"auth ACL without credentials", []source.Option{ACL(zk.ACL{Perms: zk.PermAll, Scheme: "auth"})}, "needs credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MICRO_REGISTRY_ZOOKEEPER_AUTH", "")
			src := newSource(t, tt.opts...)
			_, err := src.Read()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			_, err = src.Watch()
			assert.Contains(t, fmt.Sprint(err), tt.want)
			assert.Contains(t, fmt.Sprint(src.Write(&source.ChangeSet{Format: "json", Data: []byte(`{}`)})), tt.want)
		})
	}
}

func TestReadFailsWithoutZooKeeper(t *testing.T) {
	src := newSource(t, WithAddress("127.0.0.1:1"), Timeout(300*time.Millisecond))
	_, err := src.Read()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zookeeper: ")
	assert.True(t, errors.Is(err, context.DeadlineExceeded), err.Error())
}
