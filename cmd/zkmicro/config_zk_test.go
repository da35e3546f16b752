package main

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// putZnode creates the znode p with data, and its missing ancestors with
// empty data, or sets its data if it exists, as zkCli.sh would.
func putZnode(t *testing.T, conn *zk.Conn, p, data string) {
	t.Helper()
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			if _, err := conn.Create(p[:i], nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				require.NoError(t, err, p[:i])
			}
		}
	}
	_, err := conn.Create(p, []byte(data), 0, zk.WorldACL(zk.PermAll))
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = conn.Set(p, []byte(data), -1)
	}
	require.NoError(t, err, p)
}

// znodeData is the data of the znode p.
func znodeData(t *testing.T, conn *zk.Conn, p string) string {
	t.Helper()
	data, _, err := conn.Get(p)
	require.NoError(t, err, p)
	return string(data)
}

// runOK runs `zkmicro args...` on the server addr and returns its stdout,
// failing the test unless it exits 0 with nothing on stderr.
func runOK(t *testing.T, env []string, addr string, args ...string) string {
	t.Helper()
	r := runBinary(t, env, zkArgs(addr, args...)...)
	require.Equal(t, exitOK, r.code, "zkmicro %s; stderr:\n%s", strings.Join(args, " "), r.stderr)
	require.Empty(t, r.stderr, "zkmicro %s", strings.Join(args, " "))
	return r.stdout
}

func TestBinaryConfigGetSetDelete(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := rawConn(t, srv.Addr)
	putZnode(t, conn, "/micro-config/database/address", "10.0.0.7")
	putZnode(t, conn, "/micro-config/database/port", "3306")
	putZnode(t, conn, "/micro-config/greeting", "Hello, world")
	putZnode(t, conn, "/micro-config/limits", "{}")

	// The whole configuration, for people and for scripts.
	assert.Equal(t, `{
  "database": {
    "address": "10.0.0.7",
    "port": 3306
  },
  "greeting": "Hello, world",
  "limits": {}
}
`, runOK(t, nil, srv.Addr, "config", "get"))
	assert.Equal(t, `{"database":{"address":"10.0.0.7","port":3306},"greeting":"Hello, world","limits":{}}`+"\n",
		runOK(t, nil, srv.Addr, "config", "get", "-o", "json"))

	// One key: a string as it is, or as JSON with -o json.
	assert.Equal(t, "Hello, world\n", runOK(t, nil, srv.Addr, "config", "get", "greeting"))
	assert.Equal(t, `"Hello, world"`+"\n", runOK(t, nil, srv.Addr, "config", "get", "-o", "json", "greeting"))
	assert.Equal(t, "3306\n", runOK(t, nil, srv.Addr, "config", "get", "database.port"))
	assert.Equal(t, "{\n  \"address\": \"10.0.0.7\",\n  \"port\": 3306\n}\n", runOK(t, nil, srv.Addr, "config", "get", "database"))
	assert.Equal(t, "{}\n", runOK(t, nil, srv.Addr, "config", "get", "limits"))

	// A missing key is an error.
	for _, key := range []string{"database.adress", "greeting.text", "nothing"} {
		r := runBinary(t, nil, zkArgs(srv.Addr, "config", "get", key)...)
		require.Equal(t, exitError, r.code, "get %s; stderr:\n%s", key, r.stderr)
		assert.Equal(t, "zkmicro: config get \""+key+"\": no such key in /micro-config\n", r.stderr)
		assert.Empty(t, r.stdout)
	}

	// set, then get: VALUE is JSON if it parses, else a string.
	for _, tt := range []struct {
		args       []string // of set
		key        string
		get, json  string // what get and get -o json print
		znode, raw string // the znode written and its data
	}{
		{args: []string{"database.port", "3307"}, key: "database.port",
			get: "3307", json: "3307", znode: "/micro-config/database/port", raw: "3307"},
		{args: []string{"greeting", "Hej världen"}, key: "greeting",
			get: "Hej världen", json: `"Hej världen"`, znode: "/micro-config/greeting", raw: "Hej världen"},
		{args: []string{"--string", "version", "1.10"}, key: "version",
			get: "1.10", json: `"1.10"`, znode: "/micro-config/version", raw: `"1.10"`},
		{args: []string{"quoted", `"42"`}, key: "quoted",
			get: "42", json: `"42"`, znode: "/micro-config/quoted", raw: `"42"`},
		{args: []string{"features.beta.on", "true"}, key: "features",
			get: "{\n  \"beta\": {\n    \"on\": true\n  }\n}", json: `{"beta":{"on":true}}`, znode: "/micro-config/features/beta/on", raw: "true"},
		{args: []string{"cache", `{"ttl": "5s", "size": 1e3, "tags": ["a", "<b>"]}`}, key: "cache",
			get: "{\n  \"size\": 1e3,\n  \"tags\": [\n    \"a\",\n    \"<b>\"\n  ],\n  \"ttl\": \"5s\"\n}", json: `{"size":1e3,"tags":["a","<b>"],"ttl":"5s"}`,
			znode: "/micro-config/cache/tags", raw: `["a","<b>"]`},
		{args: []string{"empty", ""}, key: "empty",
			get: "", json: `""`, znode: "/micro-config/empty", raw: ""},
	} {
		assert.Empty(t, runOK(t, nil, srv.Addr, append([]string{"config", "set"}, tt.args...)...))
		assert.Equal(t, tt.get+"\n", runOK(t, nil, srv.Addr, "config", "get", tt.key), "set %q", tt.args)
		assert.Equal(t, tt.json+"\n", runOK(t, nil, srv.Addr, "config", "get", "-o", "json", tt.key), "set %q", tt.args)
		assert.Equal(t, tt.raw, znodeData(t, conn, tt.znode), "set %q", tt.args)
	}
	assert.Equal(t, "10.0.0.7\n", runOK(t, nil, srv.Addr, "config", "get", "database.address"), "left alone")

	// delete: a subtree, one key of an object, then a missing key.
	assert.Empty(t, runOK(t, nil, srv.Addr, "config", "delete", "cache"))
	assert.Empty(t, runOK(t, nil, srv.Addr, "config", "delete", "features.beta.on"))
	assert.Equal(t, `{"database":{"address":"10.0.0.7","port":3307},"empty":"","features":{"beta":{}},`+
		`"greeting":"Hej världen","limits":{},"quoted":"42","version":"1.10"}`+"\n",
		runOK(t, nil, srv.Addr, "config", "get", "-o", "json"))
	r := runBinary(t, nil, zkArgs(srv.Addr, "config", "delete", "cache")...)
	require.Equal(t, exitError, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, "zkmicro: config delete \"cache\": no such key in /micro-config\n", r.stderr)

	// A chroot and a prefix of their own: another configuration.
	assert.Empty(t, runOK(t, nil, srv.Addr+"/apps/prod", "config", "--prefix", "/micro-config/greeter", "set", "greeting", "Hi"))
	assert.Equal(t, "Hi", znodeData(t, conn, "/apps/prod/micro-config/greeter/greeting"))
	r = runBinary(t, []string{"MICRO_REGISTRY_ADDRESS=" + srv.Addr + "/apps/prod"}, "config", "--prefix", "/micro-config/greeter", "get", "-o", "json")
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, `{"greeting":"Hi"}`+"\n", r.stdout, "the chroot from the environment")
	assert.Equal(t, "{}\n", runOK(t, nil, srv.Addr, "config", "--prefix", "/nothing/here", "get"), "a missing prefix is an empty configuration")

	// What the source leaves out is reported on stderr.
	putZnode(t, conn, "/skipped/bin", "\xff")
	putZnode(t, conn, "/skipped/k", "1")
	r = runBinary(t, nil, zkArgs(srv.Addr, "config", "--prefix", "/skipped", "get", "-o", "json")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, `{"k":1}`+"\n", r.stdout)
	assert.Regexp(t, `^\S+ zkmicro: zookeeper: config znode /skipped/bin: data is not UTF-8 text; left out of the configuration\n$`, r.stderr)

	// The credentials of the environment apply: what set creates is the
	// creator's to change, and everyone's to read.
	auth := []string{engine.EnvAuth + "=digest:ops:secret"}
	assert.Empty(t, runOK(t, auth, srv.Addr, "config", "--prefix", "/locked", "set", "greeting", "Hi"))
	acl, _, err := conn.GetACL("/locked/greeting")
	require.NoError(t, err)
	assert.Contains(t, acl, zk.ACL{Perms: zk.PermRead, Scheme: "world", ID: "anyone"})
	require.Len(t, acl, 2)
	assert.Equal(t, int32(zk.PermAll), acl[0].Perms)
	assert.Equal(t, "digest", acl[0].Scheme)
	assert.True(t, strings.HasPrefix(acl[0].ID, "ops:"), acl[0].ID)
	assert.Equal(t, "Hi\n", runOK(t, nil, srv.Addr, "config", "--prefix", "/locked", "get", "greeting"), "readable without credentials")
	r = runBinary(t, nil, zkArgs(srv.Addr, "config", "--prefix", "/locked", "set", "greeting", "Hej")...)
	require.Equal(t, exitError, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "not allowed to change /locked/greeting", "without credentials")
	assert.True(t, strings.HasPrefix(r.stderr, `zkmicro: config set "greeting": zookeeper: `), r.stderr)
	assert.Empty(t, runOK(t, auth, srv.Addr, "config", "--prefix", "/locked", "set", "greeting", "Hej"))
}

// TestBinaryConfigSetKeepsConcurrentChanges runs several `config set` at
// once, racing to create the same parent, while another client keeps
// changing another key: every set lands, and the other key keeps its last
// value.
func TestBinaryConfigSetKeepsConcurrentChanges(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := rawConn(t, srv.Addr)
	putZnode(t, conn, "/micro-config/other", "0")

	stop := make(chan struct{})
	otherDone := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				otherDone <- n
				return
			default:
			}
			if _, err := conn.Set("/micro-config/other", []byte(strconv.Itoa(n+1)), -1); err == nil {
				n++
			}
		}
	}()
	const setters = 4
	var wg sync.WaitGroup
	results := make([]runResult, setters)
	for i := range setters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runBinary(t, nil, zkArgs(srv.Addr, "config", "set", "shared.k"+strconv.Itoa(i), strconv.Itoa(i))...)
		}()
	}
	wg.Wait()
	close(stop)
	last := <-otherDone
	for i, r := range results {
		require.Equal(t, exitOK, r.code, "set %d; stderr:\n%s", i, r.stderr)
	}
	assert.Equal(t, `{"other":`+strconv.Itoa(last)+`,"shared":{"k0":0,"k1":1,"k2":2,"k3":3}}`+"\n",
		runOK(t, nil, srv.Addr, "config", "get", "-o", "json"))
}

func TestBinaryConfigWatchPrintsChangesUntilInterrupted(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := rawConn(t, srv.Addr)
	putZnode(t, conn, "/micro-config/database/address", "10.0.0.7")
	all := startBinary(t, nil, zkArgs(srv.Addr, "config", "watch")...)
	one := startBinary(t, nil, zkArgs(srv.Addr, "config", "watch", "-o", "json", "database")...)

	// Each says on stderr when its watcher is in place.
	waitFor(t, "both watches started", func() bool {
		return strings.HasSuffix(all.stderr.String(), " zkmicro: watching every key in /micro-config\n") &&
			strings.HasSuffix(one.stderr.String(), " zkmicro: watching database in /micro-config\n")
	})

	require.Empty(t, runOK(t, nil, srv.Addr, "config", "set", "greeting", "Hi"))
	created := all.waitLine(t, " create greeting ")
	require.Empty(t, runOK(t, nil, srv.Addr, "config", "set", "database.port", "3306"))
	all.waitLine(t, " create database.port 3306")
	putZnode(t, conn, "/micro-config/database/address", "10.0.0.8") // another client
	updated := all.waitLine(t, " update database.address ")
	require.Empty(t, runOK(t, nil, srv.Addr, "config", "delete", "database"))
	deleted := all.waitLine(t, " delete database.port ")
	all.waitLine(t, " delete database.address ")

	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (create|update|delete) \S+ .+$`)
	assert.Regexp(t, line, created)
	assert.True(t, strings.HasSuffix(created, ` create greeting "Hi"`), created)
	assert.True(t, strings.HasSuffix(updated, ` update database.address "10.0.0.8"`), updated)
	assert.True(t, strings.HasSuffix(deleted, ` delete database.port 3306`), "a delete carries the value it had: %s", deleted)
	lines := all.stdout.Lines()
	assert.Len(t, lines, 5, "one line per change: %q", lines)

	// The JSON lines of the watch of one key: its changes only.
	one.waitLine(t, `"action":"delete","key":"database.address"`)
	var got []string
	for _, l := range one.stdout.Lines() {
		got = append(got, regexp.MustCompile(`"time":"[^"]+"`).ReplaceAllString(l, `"time":"T"`))
	}
	assert.Equal(t, []string{
		`{"time":"T","action":"create","key":"database.port","path":["database","port"],"value":3306}`,
		`{"time":"T","action":"update","key":"database.address","path":["database","address"],"value":"10.0.0.8"}`,
		`{"time":"T","action":"delete","key":"database.address","path":["database","address"],"value":"10.0.0.8"}`,
		`{"time":"T","action":"delete","key":"database.port","path":["database","port"],"value":3306}`,
	}, got)

	require.Equal(t, exitOK, all.stop(t, syscall.SIGINT), "stderr:\n%s", all.stderr)
	require.Equal(t, exitOK, one.stop(t, syscall.SIGTERM), "stderr:\n%s", one.stderr)
	assert.Len(t, all.stderr.Lines(), 1, "only the start")
	assert.Len(t, one.stderr.Lines(), 1, "only the start")
}

// Issue 19, items 1 and 2 through the command: a key that `config set`
// adds to a private configuration is private without --private (it takes
// its parent's ACL), --private makes a new configuration private, and a
// configuration someone else created open is refused unless the
// registry's MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS accepts it.
func TestBinaryConfigKeepsPrivateConfigurationsPrivate(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	anon := rawConn(t, srv.Addr)
	auth := []string{engine.EnvAuth + "=digest:svc:pw"}

	assert.Empty(t, runOK(t, auth, srv.Addr, "config", "--prefix", "/payments", "set", "--private", "db.pass", "s3cret"))
	assert.Empty(t, runOK(t, auth, srv.Addr, "config", "--prefix", "/payments", "set", "db.newsecret", "TOPSECRET"))
	for _, p := range []string{"/payments", "/payments/db", "/payments/db/pass", "/payments/db/newsecret"} {
		_, _, err := anon.Get(p)
		assert.ErrorIs(t, err, zk.ErrNoAuth, "an anonymous client reads %s", p)
	}
	assert.Equal(t, `{"db":{"newsecret":"TOPSECRET","pass":"s3cret"}}`+"\n", runOK(t, auth, srv.Addr, "config", "--prefix", "/payments", "get", "-o", "json"))
	r := runBinary(t, nil, zkArgs(srv.Addr, "config", "--prefix", "/p2", "set", "--private", "k", "v")...)
	require.Equal(t, exitError, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "Private needs credentials")

	// Squatted: created open by an anonymous client before the service.
	putZnode(t, anon, "/squatted/injected", "attacker")
	r = runBinary(t, auth, zkArgs(srv.Addr, "config", "--prefix", "/squatted", "set", "--private", "db.pass", "s3cret")...)
	require.Equal(t, exitError, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "/squatted has ACL entry world:anyone:cdrwa, which lets an identity other than")
	assert.Contains(t, r.stderr, "MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS=true")
	exists, _, err := anon.Exists("/squatted/db")
	require.NoError(t, err)
	assert.False(t, exists, "nothing written")
	r = runBinary(t, auth, zkArgs(srv.Addr, "config", "--prefix", "/squatted", "get")...)
	require.Equal(t, exitError, r.code, "stderr:\n%s", r.stderr)
	assert.Empty(t, r.stdout, "the squatter's key is not shown as configuration")
	open := append([]string{engine.EnvOpenDirs + "=true"}, auth...)
	assert.Equal(t, `{"injected":"attacker"}`+"\n", runOK(t, open, srv.Addr, "config", "--prefix", "/squatted", "get", "-o", "json"))
}

// Issue 19, item 3 through the command: a value as deep as encoding/json
// reads, at a key three levels down, is refused, and the configuration
// stays readable; a deep znode written by another client is left out.
func TestBinaryConfigRefusesValuesThatBreakTheDocument(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := rawConn(t, srv.Addr)
	assert.Empty(t, runOK(t, nil, srv.Addr, "config", "set", "greeting", "Hi"))

	deep := strings.Repeat("[", 9998) + strings.Repeat("]", 9998)
	r := runBinary(t, nil, zkArgs(srv.Addr, "config", "set", "a.b.c", deep)...)
	require.Equal(t, exitError, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, `zkmicro: config set "a.b.c": zookeeper: config value at ["a" "b" "c"] would make the configuration unreadable`)
	assert.Equal(t, "Hi\n", runOK(t, nil, srv.Addr, "config", "get", "greeting"))

	r = runBinary(t, nil, zkArgs(srv.Addr, "config", "set", "a", `"\udc00"`)...)
	require.Equal(t, exitError, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, `the JSON escape of a lone UTF-16 surrogate`)

	putZnode(t, conn, "/micro-config/w/x/y/z", strings.Repeat("[", 9997)+strings.Repeat("]", 9997))
	r = runBinary(t, nil, zkArgs(srv.Addr, "config", "get", "greeting")...)
	require.Equal(t, exitOK, r.code, "stderr:\n%s", r.stderr)
	assert.Equal(t, "Hi\n", r.stdout)
	assert.Contains(t, r.stderr, "zookeeper: config znode /micro-config/w/x/y/z: value nested too deep")
}
