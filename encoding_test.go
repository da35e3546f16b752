package zookeeper

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
	util "go-micro.dev/v4/util/registry"
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
			got := escapeSegment(tt.in)
			assert.Equal(t, tt.want, got)
			back, err := unescapeSegment(got)
			require.NoError(t, err)
			assert.Equal(t, tt.in, back)
		})
	}
}

func TestUnescapeSegmentRejectsBadEscapes(t *testing.T) {
	for _, in := range []string{"%", "%2", "%zz", "a%g0"} {
		_, err := unescapeSegment(in)
		assert.Error(t, err, in)
	}
}

func TestPaths(t *testing.T) {
	assert.Equal(t, "/micro-registry/greeter", servicePath("/micro-registry", "greeter"))
	assert.Equal(t, "/micro-registry/greeter/n-1", nodePath("/micro-registry", "greeter", "n-1"))
	assert.Equal(t, "/apps/prod/micro-registry/a%2Fb/%2E%2E", nodePath("/apps/prod/micro-registry", "a/b", ".."))
}

func TestEncodeDecodeNode(t *testing.T) {
	s := &registry.Service{
		Name: "greeter", Version: "1.0.0", Metadata: map[string]string{"k": "v"},
		Endpoints: []*registry.Endpoint{{Name: "Greeter.Hello", Metadata: map[string]string{"stream": "false"}}},
		Nodes:     []*registry.Node{{Id: "a", Address: "10.0.0.1:1"}, {Id: "b", Address: "10.0.0.2:1"}},
	}
	b, err := encodeNode(s, s.Nodes[1])
	require.NoError(t, err)
	// Byte-compatible with the old plugin: json.Marshal of the service
	// with exactly that node.
	old, _ := json.Marshal(&registry.Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Endpoints: s.Endpoints, Nodes: []*registry.Node{s.Nodes[1]}})
	assert.Equal(t, string(old), string(b))

	got, err := decodeNode(b)
	require.NoError(t, err)
	assert.Equal(t, "greeter", got.Name)
	require.Len(t, got.Nodes, 1)
	assert.Equal(t, "b", got.Nodes[0].Id)
	assert.Equal(t, "v", got.Metadata["k"])
}

func TestDecodeNodeRejects(t *testing.T) {
	tests := map[string]string{
		"empty":        "",
		"spaces":       "   ",
		"text":         "hello",
		"array":        `[{"name":"x"}]`,
		"null":         "null",
		"broken json":  `{"name":`,
		"no name":      `{"nodes":[{"id":"a"}]}`,
		"no nodes":     `{"name":"s"}`,
		"two nodes":    `{"name":"s","nodes":[{"id":"a"},{"id":"b"}]}`,
		"null node":    `{"name":"s","nodes":[null]}`,
		"empty id":     `{"name":"s","nodes":[{"id":""}]}`,
		"wrong types":  `{"name":1,"nodes":[{"id":"a"}]}`,
		"nodes object": `{"name":"s","nodes":{"id":"a"}}`,
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := decodeNode([]byte(data))
			assert.ErrorIs(t, err, errInvalidPayload)
		})
	}
}

func TestValidateService(t *testing.T) {
	assert.NoError(t, validateService(svc("s", "1", "a", "b")))
	assert.Error(t, validateService(nil))
	assert.Error(t, validateService(&registry.Service{Name: "s"}))
}

// FuzzDecodeNode feeds arbitrary znode data to the decoder: it must never
// panic, and whatever it accepts must be a one-node registration that
// encodes and decodes to the same thing.
func FuzzDecodeNode(f *testing.F) {
	for _, seed := range []string{
		`{"name":"greeter","version":"1","metadata":{"a":"b"},"endpoints":[{"name":"E","request":{"name":"r","type":"t","values":[{"name":"v"}]}}],"nodes":[{"id":"n","address":"a:1","metadata":{"x":"y"}}]}`,
		`{"name":"s","nodes":[{"id":"a"},{"id":"b"}]}`,
		`{"name":"s","nodes":[null]}`,
		`{"name":"s","endpoints":[null],"nodes":[{"id":"a"}]}`,
		`null`, `[]`, ``, `{`, "\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeNode(data)
		if err != nil {
			require.ErrorIs(t, err, errInvalidPayload)
			return
		}
		require.NotEmpty(t, s.Name)
		require.Len(t, s.Nodes, 1)
		require.NotEmpty(t, s.Nodes[0].Id)
		util.CopyService(s) // what every reader does with it: must not panic
		b, err := encodeNode(s, s.Nodes[0])
		if err != nil {
			require.Contains(t, err.Error(), "byte limit") // only size can fail
			return
		}
		again, err := decodeNode(b)
		require.NoError(t, err)
		require.Equal(t, s.Name, again.Name)
		require.Equal(t, s.Nodes[0].Id, again.Nodes[0].Id)
	})
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
		seg := escapeSegment(name)
		require.NoError(t, zkAcceptsSegment(seg), "escaped %q", name)
		back, err := unescapeSegment(seg)
		require.NoError(t, err)
		require.Equal(t, name, back)
		if zkAcceptsSegment(name) == nil && !strings.Contains(name, "%") {
			require.Equal(t, name, seg, "names ZooKeeper accepts are stored unchanged")
		}
	})
}

// zkAcceptsSegment applies the server's rules for a path segment
// (org.apache.zookeeper.common.PathUtils.validatePath), which look at UTF-16
// code units.
func zkAcceptsSegment(seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("empty segment")
	case seg == "." || seg == "..":
		return fmt.Errorf("relative segment %q", seg)
	case strings.Contains(seg, "/"):
		return fmt.Errorf("slash in %q", seg)
	case !utf8.ValidString(seg):
		return fmt.Errorf("not UTF-8: %q", seg)
	}
	for i, c := range utf16.Encode([]rune(seg)) {
		if c == 0 || c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0 {
			return fmt.Errorf("invalid character %U at %d of %q", c, i, seg)
		}
	}
	return nil
}
