package engine

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestEscapeSegment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"greeter", "greeter"},
		{"go.micro.srv.greeter", "go.micro.srv.greeter"},
		{"greeter-7f9c:8080_x", "greeter-7f9c:8080_x"},
		{"ünïcødé", "ünïcødé"},
		{"a/b", "a%2Fb"},
		{"100%", "100%25"},
		{".", "%2E"},
		{"..", "%2E%2E"},
		{"...", "..."},
		{".hidden", ".hidden"},
		{"tab\there", "tab%09here"},
		{"nul\x00", "nul%00"},
		{"del\x7f", "del%7F"},
		{"c1\u0085", "c1%C2%85"},
		{"private\uf000", "private%EF%80%80"},
		{"private\ue000", "private%EE%80%80"},
		{"emoji\U0001F600", "emoji%F0%9F%98%80"},
		{"special\ufff0", "special%EF%BF%B0"},
		{"bad\xffutf8", "bad%FFutf8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := EscapeSegment(tt.in)
			assert.Equal(t, tt.want, got)
			back, err := UnescapeSegment(got)
			require.NoError(t, err)
			assert.Equal(t, tt.in, back)
		})
	}
}

func TestUnescapeSegmentRejectsBadEscapes(t *testing.T) {
	for _, in := range []string{"%", "%2", "%zz", "a%g0"} {
		_, err := UnescapeSegment(in)
		assert.Error(t, err, in)
	}
}

func TestPaths(t *testing.T) {
	assert.Equal(t, "/micro-registry/greeter", layout{"/micro-registry"}.servicePath("greeter"))
	assert.Equal(t, "/micro-registry/greeter/n-1", layout{"/micro-registry"}.nodePath("greeter", "n-1"))
	assert.Equal(t, "/apps/prod/micro-registry/a%2Fb/%2E%2E", layout{"/apps/prod/micro-registry"}.nodePath("a/b", ".."))
}

// FuzzEscapeSegment checks that any name escapes to one path segment that
// ZooKeeper accepts and that unescapes to the name.
func FuzzEscapeSegment(f *testing.F) {
	for _, seed := range []string{"greeter", "a/b", "..", ".", "%", "%2F", "\x00", "\uffff", "\xff\xfe", "ünï", "\U0001F600", "\ue000"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" {
			return
		}
		seg := EscapeSegment(name)
		require.NoError(t, zktest.ValidSegment(seg), "escaped %q", name)
		back, err := UnescapeSegment(seg)
		require.NoError(t, err)
		require.Equal(t, name, back)
		if zktest.ValidSegment(name) == nil && !strings.Contains(name, "%") {
			require.Equal(t, name, seg, "names ZooKeeper accepts are stored unchanged")
		}
	})
}
