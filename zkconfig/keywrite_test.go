package zkconfig

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/config/source/memory"
)

func TestKeyWritesRefuseBadInputBeforeDialing(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1: a refusal must come before any dial.
	src := newSource(t, WithAddress("127.0.0.1:1"))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no path", SetKey(src, []byte("1")), "empty key path"},
		{"empty key", SetKey(src, []byte("1"), "a", ""), `config key ["a" ""]: empty key`},
		{"dot key", DeleteKey(src, ".."), `key ".." is reserved`},
		{"key not UTF-8", SetKey(src, []byte("1"), "\xff"), "not UTF-8"},
		{"value not JSON", SetKey(src, []byte("Hi"), "a"), "not JSON"},
		{"lone surrogate", SetKey(src, []byte(`{"k":"\udc00"}`), "a"), `it holds \udc00 at byte 6, the JSON escape of a lone UTF-16 surrogate`},
		{"too deep at its key", SetKey(src, []byte(strings.Repeat("[", 9998)+strings.Repeat("]", 9998)), "a", "b", "c"), "would make the configuration unreadable"},
		{"another source", SetKey(memory.NewSource(), []byte("1"), "a"), "the source is a *memory.memory, not one zkconfig.NewSource returned"},
		{"no source", DeleteKey(nil, "a"), "the source is a <nil>"},
		{"bad prefix", SetKey(newSource(t, WithPrefix("relative")), []byte("1"), "a"), "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, tt.err)
			assert.True(t, strings.HasPrefix(tt.err.Error(), "zookeeper: "), tt.err.Error())
			assert.Contains(t, tt.err.Error(), tt.want)
		})
	}
	assert.Zero(t, src.(*zkSource).tree.SessionID(), "no session was made")
	var typed source.Source = (*zkSource)(nil)
	assert.Error(t, SetKey(typed, []byte("1"), "a"), "a nil *zkSource")
}
