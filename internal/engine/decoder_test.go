package engine

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSharedDecoderSharesServicePart(t *testing.T) {
	s := testService("greeter", "a", "b")
	pa, err := encodeNode(s, s.Nodes[0])
	require.NoError(t, err)
	pb, err := encodeNode(s, s.Nodes[1])
	require.NoError(t, err)

	d := sharedDecoder{pool: newMapPool()}
	a, err := d.decode(pa)
	require.NoError(t, err)
	b, err := d.decode(pb)
	require.NoError(t, err)

	wantA, _ := decodeNode(pa)
	wantB, _ := decodeNode(pb)
	assert.Equal(t, wantA, a)
	assert.Equal(t, wantB, b)
	assert.Same(t, a.Endpoints[0], b.Endpoints[0], "endpoints are shared")
	a.Metadata["probe"] = "x"
	assert.Equal(t, "x", b.Metadata["probe"], "service metadata is shared")
	a.Nodes[0].Metadata["probe"] = "y"
	assert.Equal(t, "y", b.Nodes[0].Metadata["probe"], "equal node metadata is shared")

	// Across services (decoders), through the pool.
	d2 := sharedDecoder{pool: newMapPool()}
	x, err := d2.decode(pa)
	require.NoError(t, err)
	other := testService("other", "c")
	pc, err := encodeNode(other, other.Nodes[0])
	require.NoError(t, err)
	c, err := (&sharedDecoder{pool: d2.pool}).decode(pc)
	require.NoError(t, err)
	assert.True(t, sameMap(x.Nodes[0].Metadata, c.Nodes[0].Metadata), "a pool shares equal maps between services")
}

// sameMap reports whether a and b are one map.
func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestMapPool(t *testing.T) {
	p := newMapPool()
	assert.Nil(t, p.intern(nil))
	empty := map[string]string{}
	assert.True(t, sameMap(empty, p.intern(empty)))
	assert.False(t, sameMap(empty, p.intern(map[string]string{})), "empty maps are not pooled")
	a := map[string]string{"k": "v", "x": "y"}
	assert.True(t, sameMap(a, p.intern(a)), "the first map is kept")
	assert.True(t, sameMap(a, p.intern(map[string]string{"x": "y", "k": "v"})), "an equal map gives the pooled one")
	c := map[string]string{"k": "v"}
	assert.True(t, sameMap(c, p.intern(c)), "a different map is its own")
	d := map[string]string{"k": "w", "x": "y"}
	assert.True(t, sameMap(d, p.intern(d)))
	var nilPool *mapPool
	assert.True(t, sameMap(c, nilPool.intern(c)))
}

func TestSharedDecoderMatchesDecodeNode(t *testing.T) {
	first := `{"name":"s","version":"1","metadata":{"a":"b"},"nodes":[{"id":"n1","address":"x"}]}`
	for _, tt := range []struct{ name, data string }{
		{"same head", `{"name":"s","version":"1","metadata":{"a":"b"},"nodes":[{"id":"n2","metadata":{"k":"v"}}]}`},
		{"two nodes", `{"name":"s","version":"1","metadata":{"a":"b"},"nodes":[{"id":"n2"},{"id":"n3"}]}`},
		{"null node", `{"name":"s","version":"1","metadata":{"a":"b"},"nodes":[null]}`},
		{"no id", `{"name":"s","version":"1","metadata":{"a":"b"},"nodes":[{"address":"x"}]}`},
		{"trailing junk", `{"name":"s","version":"1","metadata":{"a":"b"},"nodes":[{"id":"n2"}]}}`},
		{"unclosed", `{"name":"s","version":"1","metadata":{"a":"b"},"nodes":[{"id":"n2"}`},
		{"spaces", " \n{\"name\":\"s\",\"version\":\"1\",\"metadata\":{\"a\":\"b\"},\"nodes\":[ {\"id\":\"n2\"} ] } \t"},
		{"string node", `{"name":"s","version":"1","metadata":{"a":"b"},"nodes":["n2"]}`},
		{"other head", `{"name":"t","nodes":[{"id":"n2"}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d sharedDecoder
			_, err := d.decode([]byte(first))
			require.NoError(t, err)
			assertSameDecode(t, &d, []byte(tt.data))
		})
	}
}

func TestSharedDecoderDoesNotShareAmbiguousHeads(t *testing.T) {
	for _, head := range []string{
		`{"name":"s","Nodes":[{"id":"x"}],"nodes":[`, // an earlier key sets the nodes too
		`{"name":"s","extra":{"nodes":[`,             // not at the top level
		`{"name":"s\u00e9","nodes":[`,                // escapes
		`{"name":"sé","nodes":[`,                     // not ASCII
	} {
		assert.False(t, sharable([]byte(head)), head)
	}
	assert.True(t, sharable([]byte(`{"name":"s","version":"1","nodes":[`)))
}

func assertSameDecode(t *testing.T, d *sharedDecoder, data []byte) {
	t.Helper()
	want, wantErr := decodeNode(data)
	got, err := d.decode(data)
	if wantErr != nil {
		require.Error(t, err)
		require.Equal(t, wantErr.Error(), err.Error())
		return
	}
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// FuzzSharedDecoder decodes a first payload, which may leave its service
// part shared, then a second one, then the first one's service part with
// another node: the shared decoder must return exactly what decodeNode
// returns for each.
func FuzzSharedDecoder(f *testing.F) {
	valid := `{"name":"greeter","version":"1","metadata":{"a":"b"},"endpoints":[{"name":"E"}],"nodes":[{"id":"n","address":"a:1","metadata":{"x":"y"}}]}`
	for _, seed := range [][2]string{
		{valid, `{"name":"greeter","version":"1","metadata":{"a":"b"},"endpoints":[{"name":"E"}],"nodes":[{"id":"m"}]}`},
		{valid, `{"name":"greeter","version":"1","metadata":{"a":"b"},"endpoints":[{"name":"E"}],"nodes":[{"id":"m"},{"id":"o"}]}`},
		{valid, `{"name":"greeter","version":"1","metadata":{"a":"b"},"endpoints":[{"name":"E"}],"nodes":[{"id":"m"}]},"nodes":[]}`},
		{`{"name":"s","endpoints":[null],"nodes":[{"id":"a"}]}`, `{"name":"s","endpoints":[null],"nodes":[{"id":"b"}]}`},
		{`{"name":"s","x":{"nodes":[1]},"nodes":[{"id":"a"}]}`, `{"name":"s","x":{"nodes":[{"id":"b"}]}`},
		{valid, `null`},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]), []byte(`{"id":"z"}`))
	}
	f.Add([]byte(valid), []byte(valid), []byte(`{"id":"z"}],"nodes":[{"id":"y"}`))
	f.Add([]byte(valid), []byte(valid), []byte(`{"id":"z"},{"id":"y"}`))
	f.Add([]byte(valid), []byte(valid), []byte(`{"id":"z"}]}{"x":[`))
	f.Fuzz(func(t *testing.T, first, second, node []byte) {
		var d sharedDecoder
		assertSameDecode(t, &d, first)
		assertSameDecode(t, &d, second)
		assertSameDecode(t, &d, first)
		if head, _, ok := splitPayload(first); ok {
			third := append(append(append([]byte{}, head...), node...), ']', '}')
			assertSameDecode(t, &d, third)
		}
	})
}
