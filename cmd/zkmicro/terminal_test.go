package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
)

// requireTerminalSafe fails unless out is valid UTF-8 without a character
// that could drive a terminal or reorder text: no control character but
// line feeds (and tabs with tabs), no format character, no line or
// paragraph separator.
func requireTerminalSafe(t *testing.T, out string, tabs bool) {
	t.Helper()
	require.True(t, utf8.ValidString(out), "invalid UTF-8 in %q", out)
	for _, r := range out {
		if r == '\n' || tabs && r == '\t' {
			continue
		}
		require.False(t, unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp),
			"%U reaches the terminal in %q", r, out)
	}
}

// hostile is text a registrant or config writer may write: a window
// title with a bell, a screen clear, a C1 CSI, DEL, a right-to-left
// override and an invalid byte.
const hostile = "evil\x1b]0;pwned\x07\x1b[2J\u009b31m\x7f\u202Egnp.exe\xff"

// hostileEscaped is hostile as text output shows it.
const hostileEscaped = `evil\x1b]0;pwned\x07\x1b[2J\u009b31m\x7f\u202egnp.exe\xff`

func TestTextOutputEscapesWhatRemotePartiesWrote(t *testing.T) {
	t.Run("services", func(t *testing.T) {
		ta := newTestApp(t)
		register(t, ta.reg, hostile, hostile, "greeter-1", "10.0.0.7:4100", nil)
		require.Equal(t, exitOK, ta.run(t, "services"), "stderr:\n%s", ta.stderr.String())
		requireTerminalSafe(t, ta.stdout.String(), false)
		assert.Contains(t, ta.stdout.String(), hostileEscaped+"  "+hostileEscaped+"  1\n")
	})
	t.Run("get", func(t *testing.T) {
		ta := newTestApp(t)
		register(t, ta.reg, "greeter", "1.0.0", hostile, hostile, map[string]string{hostile: hostile})
		require.Equal(t, exitOK, ta.run(t, "get", "greeter"), "stderr:\n%s", ta.stderr.String())
		requireTerminalSafe(t, ta.stdout.String(), false)
		assert.Contains(t, ta.stdout.String(), hostileEscaped+"  "+hostileEscaped+"  "+hostileEscaped+"="+hostileEscaped+"\n")
	})
	t.Run("get -o json stays exact", func(t *testing.T) {
		ta := newTestApp(t)
		register(t, ta.reg, "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100", map[string]string{"note": "a\u202Eb\x1b"})
		require.Equal(t, exitOK, ta.run(t, "get", "-o", "json", "greeter"))
		var got []*registry.Service
		require.NoError(t, json.Unmarshal([]byte(ta.stdout.String()), &got))
		assert.Equal(t, "a\u202Eb\x1b", got[0].Nodes[0].Metadata["note"])
	})
	t.Run("watch", func(t *testing.T) {
		w := newScriptedWatcher()
		ta := newTestAppOn(t, &stubRegistry{Registry: registry.NewMemoryRegistry(), watcher: w})
		r := ta.start(t, "watch")
		w.send(t, result(hostile, hostile, hostile, hostile, hostile))
		waitFor(t, "a line", func() bool { return len(ta.stdout.Lines()) == 1 })
		require.Equal(t, exitOK, r.stop(t))
		requireTerminalSafe(t, ta.stdout.String(), false)
		assert.Equal(t, "2026-11-27T10:00:00.000Z"+strings.Repeat(" "+hostileEscaped, 5)+"\n", ta.stdout.String())
	})
	// A config source hands out JSON: what it can carry of hostile (an
	// invalid byte becomes U+FFFD).
	value := strings.ToValidUTF8(hostile, "\ufffd")
	valueEscaped := strings.TrimSuffix(hostileEscaped, `\xff`) + "\ufffd"
	// value in JSON, escaped: JSON has escaped the C0 controls already.
	jsonEscaped := `"evil\u001b]0;pwned\u0007\u001b[2J\u009b31m\x7f\u202egnp.exe` + "\ufffd" + `"`
	doc, err := json.Marshal(map[string]any{"s": value, "obj": map[string]string{"k": value}, value: 1})
	require.NoError(t, err)
	t.Run("config get", func(t *testing.T) {
		for _, tt := range []struct {
			key  []string
			want string
		}{
			{[]string{"s"}, valueEscaped + "\n"},
			{[]string{"obj"}, "{\n  \"k\": " + jsonEscaped + "\n}\n"},
			{nil, ""}, // the whole document, with value as a key
		} {
			ta := newTestApp(t)
			ta.useConfigSource(newScriptedSource(string(doc)))
			require.Equal(t, exitOK, ta.run(t, append([]string{"config", "get"}, tt.key...)...), "stderr:\n%s", ta.stderr.String())
			requireTerminalSafe(t, ta.stdout.String(), false)
			if tt.want != "" {
				assert.Equal(t, tt.want, ta.stdout.String())
			}
		}
	})
	t.Run("config get keeps the lines of a multi-line value", func(t *testing.T) {
		ta := newTestApp(t)
		ta.useConfigSource(newScriptedSource(`{"pem":"-----BEGIN X-----\n\tAAAA\r\n-----END X-----"}`))
		require.Equal(t, exitOK, ta.run(t, "config", "get", "pem"))
		assert.Equal(t, "-----BEGIN X-----\n\tAAAA\\r\n-----END X-----\n", ta.stdout.String())
	})
	t.Run("config watch", func(t *testing.T) {
		src := newScriptedSource(`{}`)
		ta := newTestApp(t)
		ta.useConfigSource(src)
		r := ta.start(t, "config", "watch")
		waitFor(t, "the watch started", func() bool { return ta.stderr.String() != "" })
		src.send(t, string(doc))
		waitFor(t, "three lines", func() bool { return len(ta.stdout.Lines()) == 3 })
		require.Equal(t, exitOK, r.stop(t))
		requireTerminalSafe(t, ta.stdout.String(), false)
		assert.Contains(t, ta.stdout.Lines(), "2026-11-27T10:00:00.000Z create s "+jsonEscaped)
		assert.Contains(t, ta.stdout.Lines(), "2026-11-27T10:00:00.000Z create "+valueEscaped+" 1")
	})
	t.Run("doctor", func(t *testing.T) {
		ta := newTestApp(t)
		report := doctorReport{Checks: []doctorCheck{{Server: hostile, Check: checkPrefix, Verdict: verdictWarn, Detail: hostile}}}
		require.NoError(t, writeDoctorTable(ta.app, report))
		requireTerminalSafe(t, ta.stdout.String(), false)
		assert.Contains(t, ta.stdout.String(), hostileEscaped+"  prefix  warn     "+hostileEscaped+"\n")
	})
	t.Run("errors", func(t *testing.T) {
		stub := &stubRegistry{Registry: registry.NewMemoryRegistry(), listErr: errors.New("zookeeper: list: " + hostile)}
		ta := newTestAppOn(t, stub)
		require.Equal(t, exitError, ta.run(t, "services"))
		assert.Equal(t, "zkmicro: list services: zookeeper: list: "+hostileEscaped+"\n", ta.stderr.String())
	})
	t.Run("the registry's log lines", func(t *testing.T) {
		ta := newTestApp(t)
		registryLogger{logf: ta.app.logf}.Logf(logger.WarnLevel, "skipped %s: not a registration", hostile)
		assert.Equal(t, "2026-11-27T10:00:00.000Z zkmicro: skipped "+hostileEscaped+": not a registration\n", ta.stderr.String())
	})
	t.Run("the sidecar's log lines", func(t *testing.T) {
		ta := newTestApp(t)
		r := ta.start(t, "register", "--name", "greeter", "--id", hostile, "--address", "10.0.0.7:4100", "--check_interval", time.Hour.String())
		waitFor(t, "registered", func() bool { return len(ta.stderr.Lines()) == 1 })
		require.Equal(t, exitOK, r.stop(t))
		requireTerminalSafe(t, ta.stderr.String(), false)
		assert.Equal(t, "2026-11-27T10:00:00.000Z zkmicro: "+hostileEscaped+" registered", ta.stderr.Lines()[0])
	})
}
