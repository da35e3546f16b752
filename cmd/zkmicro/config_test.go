package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
	"github.com/zkmicro/zookeeper/zkconfig"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/config/source/memory"
	"go-micro.dev/v4/registry"
)

// configOpen is one call of app.newConfigSource.
type configOpen struct {
	reg registry.Registry
	configSourceOptions
}

// configSourceRecorder hands a test's source to the config commands and
// records how they asked for it.
type configSourceRecorder struct {
	mu     sync.Mutex // guards opened
	opened []configOpen
}

// useConfigSource makes the config commands of ta use src.
func (ta *testApp) useConfigSource(src source.Source) *configSourceRecorder {
	rec := &configSourceRecorder{}
	ta.app.newConfigSource = func(reg registry.Registry, o configSourceOptions) source.Source {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.opened = append(rec.opened, configOpen{reg: reg, configSourceOptions: o})
		return src
	}
	return rec
}

func (rec *configSourceRecorder) calls() []configOpen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]configOpen(nil), rec.opened...)
}

// memoryConfig is go-micro's memory source holding doc.
func memoryConfig(doc string) source.Source {
	return memory.NewSource(memory.WithJSON([]byte(doc)))
}

func TestParseKeyPath(t *testing.T) {
	for _, tt := range []struct {
		key  string
		want []string // nil: refused
	}{
		{"database", []string{"database"}},
		{"database.address", []string{"database", "address"}},
		{"a/b.c d", []string{"a/b", "c d"}},
		{"", nil},
		{".a", nil},
		{"a.", nil},
		{"a..b", nil},
	} {
		got, ok := parseKeyPath(tt.key)
		assert.Equal(t, tt.want != nil, ok, tt.key)
		assert.Equal(t, tt.want, got, tt.key)
	}
}

func TestLookupKey(t *testing.T) {
	doc := []byte(`{"a":{"b":{"c":1},"s":"x","n":null},"e":{},"l":[{"x":1}]}`)
	for _, tt := range []struct {
		path []string
		want string // "": missing
	}{
		{nil, string(doc)},
		{[]string{"a"}, `{"b":{"c":1},"s":"x","n":null}`},
		{[]string{"a", "b", "c"}, "1"},
		{[]string{"a", "n"}, "null"},
		{[]string{"e"}, "{}"},
		{[]string{"a", "s", "x"}, ""},
		{[]string{"a", "n", "x"}, ""},
		{[]string{"l", "x"}, ""},
		{[]string{"l", "0"}, ""},
		{[]string{"nope"}, ""},
	} {
		got, ok := lookupKey(doc, tt.path)
		assert.Equal(t, tt.want != "", ok, "%q", tt.path)
		assert.Equal(t, tt.want, string(got), "%q", tt.path)
	}
}

func TestDiffConfig(t *testing.T) {
	tests := []struct {
		name          string
		before, after string
		under         []string
		want          []string // "action key value"
	}{
		{name: "nothing changed", before: `{"a":1}`, after: `{ "a" : 1 }`},
		{
			name:   "create, update and delete, in key order",
			before: `{"a":1,"b":{"c":"x","d":true},"z":[1]}`,
			after:  `{"b":{"c":"y","e":{}},"y":null,"z":[1]}`,
			want:   []string{"delete a 1", `update b.c "y"`, "delete b.d true", "create b.e {}", "create y null"},
		},
		{
			name:   "a leaf becomes an object",
			before: `{"a":"x"}`,
			after:  `{"a":{"b":1}}`,
			want:   []string{`delete a "x"`, "create a.b 1"},
		},
		{
			name:   "an empty object gains a key",
			before: `{"a":{}}`,
			after:  `{"a":{"b":1}}`,
			want:   []string{"delete a {}", "create a.b 1"},
		},
		{
			name:   "below a key only",
			before: `{"a":{"b":1},"ab":1}`,
			after:  `{"a":{"b":2,"c":3},"ab":2,"b":1}`,
			under:  []string{"a"},
			want:   []string{"update a.b 2", "create a.c 3"},
		},
		{
			name:   "the key itself",
			before: `{"a":{"b":1}}`,
			after:  `{"a":{"b":"<&>"}}`,
			under:  []string{"a", "b"},
			want:   []string{`update a.b "<&>"`},
		},
		{
			name:   "everything deleted",
			before: `{"a":{"b":1,"c":[1, 2]}}`,
			after:  `{}`,
			want:   []string{"delete a.b 1", "delete a.c [1,2]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range diffConfig(flattenConfig([]byte(tt.before)), flattenConfig([]byte(tt.after)), tt.under) {
				got = append(got, c.action+" "+keyName(c.path)+" "+string(c.value))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestConfigValue(t *testing.T) {
	for _, tt := range []struct {
		text     string
		asString bool
		want     string
	}{
		{"3306", false, "3306"},
		{" 1.50e3 ", false, " 1.50e3 "},
		{"true", false, "true"},
		{"null", false, "null"},
		{`"42"`, false, `"42"`},
		{`{"a": [1]}`, false, `{"a": [1]}`},
		{"Hello, world", false, `"Hello, world"`},
		{"", false, `""`},
		{"3306", true, `"3306"`},
		{"<a & b>", false, `"<a & b>"`},
		{"line\nbreak\t\"q\"", false, `"line\nbreak\t\"q\""`},
		{"{broken", false, `"{broken"`},
	} {
		assert.Equal(t, tt.want, string(configValue(tt.text, tt.asString)), "%q string=%v", tt.text, tt.asString)
	}
}

func TestWriteConfigValue(t *testing.T) {
	for _, tt := range []struct {
		value, format, want string
	}{
		{`"Hi"`, configOutputText, "Hi\n"},
		{`"Hi"`, outputJSON, `"Hi"` + "\n"},
		{`"a\nb"`, configOutputText, "a\nb\n"},
		{"3306", configOutputText, "3306\n"},
		{"null", configOutputText, "null\n"},
		{`{"b":[1, 2.50],"a":"<&>"}`, configOutputText, "{\n  \"b\": [\n    1,\n    2.50\n  ],\n  \"a\": \"<&>\"\n}\n"},
		{`{"b":[1, 2.50],"a":"<&>"}`, outputJSON, `{"b":[1,2.50],"a":"<&>"}` + "\n"},
		{"{}", configOutputText, "{}\n"},
	} {
		var b bytes.Buffer
		require.NoError(t, writeConfigValue(&b, []byte(tt.value), tt.format))
		assert.Equal(t, tt.want, b.String(), "%s -o %s", tt.value, tt.format)
	}
}

func TestConfigUsageErrorsExitTwo(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // the first line of stderr
		usageOf string // the NAME line of the usage printed after it
	}{
		{name: "no config command", args: []string{"config"},
			wantErr: "missing config command: get, set, delete or watch", usageOf: "zkmicro config - "},
		{name: "unknown config command", args: []string{"config", "list"},
			wantErr: `unknown config command "list"`, usageOf: "zkmicro config - "},
		{name: "prefix after the command", args: []string{"config", "get", "--prefix", "/p"},
			wantErr: "flag provided but not defined: -prefix", usageOf: "zkmicro config get - "},
		{name: "get two keys", args: []string{"config", "get", "a", "b"},
			wantErr: `unexpected arguments ["b"] after KEY`, usageOf: "zkmicro config get - "},
		{name: "get bad key", args: []string{"config", "get", "a..b"},
			wantErr: `KEY "a..b": want keys separated by dots, none empty`, usageOf: "zkmicro config get - "},
		{name: "get unknown output", args: []string{"config", "get", "-o", "table"},
			wantErr: `--output "table": want text or json`, usageOf: "zkmicro config get - "},
		{name: "set without VALUE", args: []string{"config", "set", "a"},
			wantErr: "missing KEY VALUE", usageOf: "zkmicro config set - "},
		{name: "set with an option after VALUE", args: []string{"config", "set", "a", "1", "--string"},
			wantErr: `unexpected arguments ["--string"]: options go before KEY VALUE`, usageOf: "zkmicro config set - "},
		{name: "set a value that is not UTF-8", args: []string{"config", "set", "a", "\xff"},
			wantErr: "VALUE is not UTF-8 text", usageOf: "zkmicro config set - "},
		{name: "set an empty key", args: []string{"config", "set", "", "1"},
			wantErr: `KEY "": want keys separated by dots`, usageOf: "zkmicro config set - "},
		{name: "delete without KEY", args: []string{"config", "delete"},
			wantErr: "missing KEY", usageOf: "zkmicro config delete - "},
		{name: "watch two keys", args: []string{"config", "watch", "a", "b"},
			wantErr: `unexpected arguments ["b"] after KEY`, usageOf: "zkmicro config watch - "},
		{name: "watch unknown output", args: []string{"config", "watch", "-o", "yaml"},
			wantErr: `--output "yaml": want text or json`, usageOf: "zkmicro config watch - "},
		{name: "bad global option", args: []string{"--registry_timeout", "0s", "config", "get"},
			wantErr: "--registry_timeout 0s: must be > 0", usageOf: "zkmicro - "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestApp(t)
			rec := ta.useConfigSource(memoryConfig(`{}`))

			code := ta.run(t, tt.args...)

			stderr := ta.stderr.String()
			require.Equal(t, exitUsage, code, "stderr:\n%s", stderr)
			firstLine, rest, _ := strings.Cut(stderr, "\n")
			assert.True(t, strings.HasPrefix(firstLine, "zkmicro: "+tt.wantErr), "first line of stderr: %q", firstLine)
			assert.Contains(t, rest, "NAME:\n   "+tt.usageOf, "usage after the error")
			assert.Empty(t, ta.stdout.String(), "stdout")
			assert.Empty(t, rec.calls(), "a usage error opens no source")
		})
	}
}

func TestConfigHelpListsTheCommands(t *testing.T) {
	for _, args := range [][]string{{"config", "-h"}, {"help", "config"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ta := newTestApp(t)
			require.Equal(t, exitOK, ta.run(t, args...), "stderr:\n%s", ta.stderr)
			out := ta.stdout.String()
			for _, cmd := range []string{"get", "set", "delete", "watch"} {
				assert.Contains(t, out, "\n   "+cmd+" ")
			}
			assert.Contains(t, out, "--prefix P")
			assert.NotContains(t, out, "help, h", "config has no help command")
		})
	}
}

func TestConfigOptionsOpenTheSource(t *testing.T) {
	ta := newTestApp(t)
	rec := ta.useConfigSource(memoryConfig(`{"a":1}`))

	require.Equal(t, exitOK, ta.run(t, "config", "get"))
	require.Equal(t, exitOK, ta.run(t, "--registry_address", "zk1:2181,zk2:2181/apps/prod", "--registry_timeout", "2s",
		"config", "--prefix", "/micro-config/greeter", "get"))

	// set --private: the memory source refuses the write, once opened.
	require.Equal(t, exitError, ta.run(t, "config", "set", "--private", "greeting", "Hej"))
	require.Equal(t, exitError, ta.run(t, "config", "set", "greeting", "Hej"))

	assert.Equal(t, []configOpen{
		{reg: ta.reg, configSourceOptions: configSourceOptions{prefix: "/micro-config", timeout: 5 * time.Second}},
		{reg: ta.reg, configSourceOptions: configSourceOptions{prefix: "/micro-config/greeter", timeout: 2 * time.Second}},
		{reg: ta.reg, configSourceOptions: configSourceOptions{prefix: "/micro-config", timeout: 5 * time.Second, private: true}},
		{reg: ta.reg, configSourceOptions: configSourceOptions{prefix: "/micro-config", timeout: 5 * time.Second}},
	}, rec.calls())
	assert.Equal(t, []openCall{
		{addrs: []string{"127.0.0.1:2181"}, timeout: 5 * time.Second},
		{addrs: []string{"zk1:2181", "zk2:2181/apps/prod"}, timeout: 2 * time.Second},
		{addrs: []string{"127.0.0.1:2181"}, timeout: 5 * time.Second},
		{addrs: []string{"127.0.0.1:2181"}, timeout: 5 * time.Second},
	}, ta.openCalls(), "the source uses the registry's session")
}

// newConfigSource hands --private to zkconfig as Private, which needs
// credentials: without them every call says so, before any dial.
func TestNewConfigSourcePassesPrivate(t *testing.T) {
	t.Setenv(engine.EnvAuth, "")
	reg, err := newRegistry([]string{"127.0.0.1:1"}, time.Second, registryLogger{logf: func(string, ...any) {}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.(io.Closer).Close()) })
	for _, private := range []bool{false, true} {
		src := newConfigSource(reg, configSourceOptions{prefix: "/p", timeout: time.Second, private: private}, registryLogger{logf: func(string, ...any) {}})
		err := zkconfig.SetKey(src, []byte(`1`), "k")
		require.NoError(t, src.(io.Closer).Close())
		require.Error(t, err)
		if private {
			assert.Contains(t, err.Error(), "zookeeper: config options: Private needs credentials")
		} else {
			assert.NotContains(t, err.Error(), "Private", "refused for want of ZooKeeper")
		}
	}
}

func TestConfigGetAndErrorsOnAnotherSource(t *testing.T) {
	ta := newTestApp(t)
	ta.useConfigSource(memoryConfig(`{"greeting":"Hi","database":{"port":3306}}`))

	require.Equal(t, exitOK, ta.run(t, "config", "get", "database"))
	assert.Equal(t, "{\n  \"port\": 3306\n}\n", ta.stdout.String())

	require.Equal(t, exitError, ta.run(t, "config", "--prefix", "/p", "get", "database.address"))
	assert.Equal(t, "zkmicro: config get \"database.address\": no such key in /p\n", ta.stderr.String())

	ta.stderr = &zktest.Output{}
	ta.app.stderr = ta.stderr
	require.Equal(t, exitError, ta.run(t, "config", "set", "greeting", "Hej"))
	assert.Equal(t, "zkmicro: config set \"greeting\": zookeeper: config key write: the source is a *memory.memory, not one zkconfig.NewSource returned\n",
		ta.stderr.String())
}

// scriptedSource is a config source whose Read and watcher return what the
// test says.
type scriptedSource struct {
	doc      string
	readErr  error
	changes  chan string // documents for Next
	errs     chan error  // errors for Next
	stopOnce sync.Once
	stopped  chan struct{}
}

func newScriptedSource(doc string) *scriptedSource {
	return &scriptedSource{doc: doc, changes: make(chan string), errs: make(chan error), stopped: make(chan struct{})}
}

func (s *scriptedSource) Read() (*source.ChangeSet, error) {
	if s.readErr != nil {
		return nil, s.readErr
	}
	return &source.ChangeSet{Data: []byte(s.doc), Format: "json"}, nil
}

func (s *scriptedSource) Write(*source.ChangeSet) error { return errors.New("read-only") }

func (s *scriptedSource) Watch() (source.Watcher, error) { return s, nil }

func (s *scriptedSource) String() string { return "scripted" }

func (s *scriptedSource) Next() (*source.ChangeSet, error) {
	select {
	case doc := <-s.changes:
		return &source.ChangeSet{Data: []byte(doc), Format: "json"}, nil
	case err := <-s.errs:
		return nil, err
	case <-s.stopped:
		return nil, source.ErrWatcherStopped
	}
}

func (s *scriptedSource) Stop() error {
	s.stopOnce.Do(func() { close(s.stopped) })
	return nil
}

// send hands doc to the next Next.
func (s *scriptedSource) send(t *testing.T, doc string) {
	t.Helper()
	select {
	case s.changes <- doc:
	case <-time.After(waitTimeout):
		t.Fatal("nobody called Next")
	}
}

func TestConfigWatchWritesChangesUntilStopped(t *testing.T) {
	src := newScriptedSource(`{"a":1,"b":{"c":"x"}}`)
	ta := newTestApp(t)
	ta.useConfigSource(src)
	run := ta.start(t, "config", "watch")
	waitFor(t, "the watch started", func() bool { return ta.stderr.String() != "" })
	assert.Equal(t, "2026-11-27T10:00:00.000Z zkmicro: watching every key in /micro-config\n", ta.stderr.String())

	src.send(t, `{"a":2,"b":{"c":"x","d":[1]}}`)
	src.send(t, `{"a":2}`)
	src.send(t, `{"a":2}`) // no change: no line
	waitFor(t, "four lines", func() bool { return len(ta.stdout.Lines()) == 4 })
	require.Equal(t, exitOK, run.stop(t))
	assert.Equal(t, []string{
		"2026-11-27T10:00:00.000Z update a 2",
		"2026-11-27T10:00:00.000Z create b.d [1]",
		`2026-11-27T10:00:00.000Z delete b.c "x"`,
		"2026-11-27T10:00:00.000Z delete b.d [1]",
	}, ta.stdout.Lines())
}

func TestConfigWatchOfOneKeyInJSON(t *testing.T) {
	src := newScriptedSource(`{"a":1,"b":{"c":"x"}}`)
	ta := newTestApp(t)
	ta.useConfigSource(src)
	run := ta.start(t, "config", "watch", "-o", "json", "b")
	waitFor(t, "the watch started", func() bool { return ta.stderr.String() != "" })
	assert.Equal(t, "2026-11-27T10:00:00.000Z zkmicro: watching b in /micro-config\n", ta.stderr.String())

	src.send(t, `{"a":2,"b":{"c":"<y>"}}`)
	waitFor(t, "a line", func() bool { return len(ta.stdout.Lines()) == 1 })
	require.Equal(t, exitOK, run.stop(t))
	assert.Equal(t, `{"time":"2026-11-27T10:00:00.000Z","action":"update","key":"b.c","path":["b","c"],"value":"<y>"}`+"\n", ta.stdout.String())
}

func TestConfigWatchFailuresExitOne(t *testing.T) {
	t.Run("read", func(t *testing.T) {
		src := newScriptedSource(`{}`)
		src.readErr = errors.New("zookeeper: /micro-config is not in sync with ZooKeeper")
		ta := newTestApp(t)
		ta.useConfigSource(src)
		require.Equal(t, exitError, ta.run(t, "config", "watch"))
		assert.Equal(t, "zkmicro: config watch: zookeeper: /micro-config is not in sync with ZooKeeper\n", ta.stderr.String())
	})
	t.Run("next", func(t *testing.T) {
		src := newScriptedSource(`{}`)
		ta := newTestApp(t)
		ta.useConfigSource(src)
		run := ta.start(t, "config", "watch")
		select {
		case src.errs <- errors.New("zookeeper: lost"):
		case <-time.After(waitTimeout):
			t.Fatal("nobody called Next")
		}
		require.Equal(t, exitError, run.wait(t))
		assert.True(t, strings.HasSuffix(ta.stderr.String(), "zkmicro: config watch: zookeeper: lost\n"), ta.stderr.String())
	})
}
