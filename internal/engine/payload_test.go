package engine

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodeDecodeNode(t *testing.T) {
	s := &Service{
		Name: "greeter", Version: "1.0.0", Metadata: map[string]string{"k": "v"},
		Endpoints: []*Endpoint{{Name: "Greeter.Hello", Metadata: map[string]string{"stream": "false"}}},
		Nodes:     []*Node{{Id: "a", Address: "10.0.0.1:1"}, {Id: "b", Address: "10.0.0.2:1"}},
	}
	b, err := encodeNode(s, s.Nodes[1])
	require.NoError(t, err)
	// Byte-compatible with the old plugin: json.Marshal of the service
	// with exactly that node.
	old, _ := json.Marshal(&Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Endpoints: s.Endpoints, Nodes: []*Node{s.Nodes[1]}})
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
	assert.NoError(t, validateService(testService("s", "a", "b")))
	assert.Error(t, validateService(nil))
	assert.Error(t, validateService(&Service{Name: "s"}))
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
		b, err := encodeNode(s, s.Nodes[0])
		if err != nil {
			t.Fatalf("a decoded registration must encode again: %v", err)
			return
		}
		again, err := decodeNode(b)
		require.NoError(t, err)
		require.Equal(t, s.Name, again.Name)
		require.Equal(t, s.Nodes[0].Id, again.Nodes[0].Id)
	})
}

func TestEncodeNodeRefusesWhatNoReaderDecodes(t *testing.T) {
	// An endpoint value nested 6,000 deep marshals, but encoding/json
	// reads at most 10,000 levels (each value is two: object and list).
	v := &Value{Name: "leaf"}
	for i := 0; i < 6000; i++ {
		v = &Value{Name: "v", Values: []*Value{v}}
	}
	s := testService("deep", "n1")
	s.Endpoints = []*Endpoint{{Name: "E", Request: v}}
	_, err := encodeNode(s, s.Nodes[0])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "could not be read back")
	assert.Less(t, len(err.Error()), 300, "the error does not embed the payload")
}

func TestValidateTextRefusesInvalidUTF8(t *testing.T) {
	for name, mutate := range map[string]func(s *Service){
		"version":         func(s *Service) { s.Version = "1\xff" },
		"metadata key":    func(s *Service) { s.Metadata["k\xfe"] = "v" },
		"metadata value":  func(s *Service) { s.Metadata["k"] = "v\xfe" },
		"endpoint name":   func(s *Service) { s.Endpoints[0].Name = "E\xff" },
		"endpoint value":  func(s *Service) { s.Endpoints[0].Request.Values[0].Type = "\xff" },
		"node address":    func(s *Service) { s.Nodes[0].Address = "h\xff:1" },
		"node metadata":   func(s *Service) { s.Nodes[0].Metadata["x"] = "\xff" },
		"endpoint meta":   func(s *Service) { s.Endpoints[0].Metadata["s"] = "\xc3" },
		"response values": func(s *Service) { s.Endpoints[0].Response.Name = "\xc3\x28" },
	} {
		t.Run(name, func(t *testing.T) {
			s := testService("utf8", "n1")
			require.NoError(t, validateText(s))
			mutate(s)
			err := validateText(s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "not valid UTF-8")
		})
	}
	// Names and ids are checked by validateService.
	s := testService("bad\xffname", "n1")
	assert.ErrorContains(t, validateService(s), "not valid UTF-8")
	s = testService("name", "n\xff1")
	assert.ErrorContains(t, validateService(s), "not valid UTF-8")
}

func TestCheckRequestSizeCountsThePath(t *testing.T) {
	acl := zk.WorldACL(zk.PermAll)
	data := make([]byte, maxRequestBytes-1000)
	require.NoError(t, checkRequestSize("/micro-registry/s/n", data, acl))
	long := "/micro-registry/" + strings.Repeat("s", 300<<10) + "/n"
	err := checkRequestSize(long, data, acl)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "limit of a ZooKeeper request")
	assert.Less(t, len(err.Error()), 300, "the error does not embed the path")
	assert.Error(t, checkRequestSize("/p", make([]byte, maxRequestBytes), acl))
}

func TestQuoteShortKeepsErrorsShort(t *testing.T) {
	assert.Equal(t, `"greeter"`, quoteShort("greeter"))
	long := strings.Repeat("é", 1000)
	q := quoteShort(long)
	assert.Less(t, len(q), 120)
	assert.Contains(t, q, "(2000 bytes)")
	assert.True(t, utf8.ValidString(q))
}
