package configdoc

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestUnescapeKeyRejectsBadEscapes(t *testing.T) {
	for _, in := range []string{"%", "%2", "%zz", "a%g0", "a%"} {
		_, err := engine.UnescapeSegment(in)
		require.Error(t, err, in)
		_, err = keyOfName(in)
		require.ErrorIs(t, err, errBadName, in)
		assert.Contains(t, err.Error(), "bad escape", in)
	}
}

func TestKeyOfName(t *testing.T) {
	tests := []struct {
		name, key string
		bad       bool
	}{
		{name: "database", key: "database"},
		{name: "a%2Fb", key: "a/b"},
		{name: "100%25", key: "100%"},
		{name: "emoji%F0%9F%98%80", key: "emoji\U0001F600"},
		{name: "...", key: "..."},
		{name: "%", bad: true},           // bad escape
		{name: "100%", bad: true},        // bad escape, as zkCli lets anyone write
		{name: "%41", bad: true},         // "A" is stored as "A"
		{name: "a%2fb", bad: true},       // lower-case hex is not EscapeSegment's
		{name: "%2E", bad: true},         // key "." is reserved
		{name: "%2E%2E", bad: true},      // key ".." is reserved
		{name: ".", bad: true},           // not a name ZooKeeper allows anyway
		{name: "tab\there", bad: true},   // EscapeSegment would have escaped it
		{name: "bad\xffutf8", bad: true}, // likewise
		{name: "bad%FFutf8", bad: true},  // a key must be text
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := keyOfName(tt.name)
			if tt.bad {
				require.ErrorIs(t, err, errBadName)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.key, key)
			assert.Equal(t, tt.name, engine.EscapeSegment(key))
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, ok := range []string{"/micro-config", "/apps/prod/config", "/a%b", "/ünï"} {
		assert.NoError(t, validatePrefix(ok), ok)
	}
	for _, bad := range []string{"", "/", "micro-config", "/micro-config/", "/a//b", "/a/./b", "/a/..", "/tab\t", "/bad\xff"} {
		err := validatePrefix(bad)
		require.Error(t, err, bad)
		assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: config prefix"), err.Error())
	}
	assert.NoError(t, validatePrefix(DefaultPrefix))
}

// FuzzEscapeKey checks that any key escapes to one path segment ZooKeeper
// accepts, that it unescapes to the key, and that keyOfName takes the name
// back to the key exactly when validateKey accepts the key.
func FuzzEscapeKey(f *testing.F) {
	for _, seed := range []string{"database", "a/b", "..", ".", "%", "%2F", "\x00", "\uffff", "\xff\xfe", "ünï", "\U0001F600", "\ue000"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if key == "" {
			return
		}
		name := engine.EscapeSegment(key)
		require.NoError(t, zktest.ValidSegment(name), "escaped %q", key)
		back, err := engine.UnescapeSegment(name)
		require.NoError(t, err)
		require.Equal(t, key, back)
		got, err := keyOfName(name)
		if validateKey(key) != nil {
			require.ErrorIs(t, err, errBadName)
			return
		}
		require.NoError(t, err)
		require.Equal(t, key, got)
		if zktest.ValidSegment(key) == nil && !strings.Contains(key, "%") {
			require.Equal(t, key, name, "keys ZooKeeper accepts are stored unchanged")
		}
	})
}
