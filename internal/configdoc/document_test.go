package configdoc

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// wantSkip is an expected skipped entry: the znode and the sentinel its
// reason wraps.
type wantSkip struct {
	rel string
	err error
}

func TestReadDocument(t *testing.T) {
	tests := []struct {
		name  string
		nodes map[string]string // rel -> data; nil: the prefix znode is missing
		want  string
		skips []wantSkip
	}{
		{name: "missing prefix znode", nodes: nil, want: `{}`},
		{name: "empty prefix znode", nodes: map[string]string{"": ""}, want: `{}`},
		{
			name:  "data of the prefix znode is ignored",
			nodes: map[string]string{"": `{"a":1}`},
			want:  `{}`,
			skips: []wantSkip{{"", errDataIgnored}},
		},
		{
			name: "layout of zkconfig's package doc",
			nodes: map[string]string{
				"": "", "/database": "", "/database/address": "10.0.0.7", "/database/port": "3306",
				"/database/tags": `["a","b"]`, "/greeting": `"42"`, "/limits": "{}",
			},
			want: `{"database":{"address":"10.0.0.7","port":3306,"tags":["a","b"]},"greeting":"42","limits":{}}`,
		},
		{
			name: "JSON data is its value, normalized",
			nodes: map[string]string{
				"": "", "/num": " 42 ", "/big": "123456789012345678901234567890", "/exp": "1.50e+3",
				"/t": "true", "/n": "null", "/arr": "[ 1, {\"b\": 2, \"a\": 1} ]",
				"/obj": `{"b": 1, "a": {"d": [], "c": null}}`, "/dup": `{"a":1,"a":2}`, "/str": `"quoted"`,
				"/pair": `"\ud83d\ude00"`, "/fffd": `"\ufffd"`,
			},
			want: `{"arr":[1,{"a":1,"b":2}],"big":123456789012345678901234567890,"dup":{"a":2},"exp":1.50e+3,"fffd":"` + "\uFFFD" + `","n":null,"num":42,` +
				`"obj":{"a":{"c":null,"d":[]},"b":1},"pair":"😀","str":"quoted","t":true}`,
		},
		{
			// encoding/json would read each as U+FFFD: a value nobody wrote.
			name: "JSON escapes of lone surrogates are skipped",
			nodes: map[string]string{
				"": "", "/low": `"\udc00"`, "/high": `"\ud800"`, "/high-then-text": `"\ud800x"`, "/in-key": `{"\udc00":1}`,
				"/in-array": `["ok","\ud83d"]`, "/escaped-backslash": `"\\udc00"`, "/ok": "1",
			},
			want:  `{"escaped-backslash":"\\udc00","ok":1}`,
			skips: []wantSkip{{"/high", errNotText}, {"/high-then-text", errNotText}, {"/in-array", errNotText}, {"/in-key", errNotText}, {"/low", errNotText}},
		},
		{
			// encoding/json reads at most 10,000 levels: the value of
			// /a/b/c/d sits inside 4 objects.
			name: "values that would nest the document too deep are skipped",
			nodes: map[string]string{
				"": "", "/greeting": "Hi",
				"/a": "", "/a/b": "", "/a/b/c": "", "/a/b/c/d": strings.Repeat("[", 9997) + strings.Repeat("]", 9997),
				"/fits": "", "/fits/x": strings.Repeat("[", 9998) + strings.Repeat("]", 9998),
			},
			want:  `{"a":{"b":{"c":{}}},"fits":{"x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `},"greeting":"Hi"}`,
			skips: []wantSkip{{"/a/b/c/d", errTooDeep}},
		},
		{
			name: "other data is a string",
			nodes: map[string]string{
				"": "", "/hi": "Hi", "/empty": "", "/broken": `{"a":`, "/html": "a<b&c>",
				"/ctl": "line\nbreak\x01", "/ls": "x\u2028y", "/space": "  padded ", "/ünï": "ünïcødé",
			},
			want: `{"broken":"{\"a\":","ctl":"line\nbreak\u0001","empty":"","hi":"Hi","html":"a<b&c>","ls":"x\u2028y","space":"  padded ","ünï":"ünïcødé"}`,
		},
		{
			name:  "data that is not UTF-8 is skipped",
			nodes: map[string]string{"": "", "/bin": "\xff\xfe\x00", "/ok": "1", "/badjson": "\"\xff\""},
			want:  `{"ok":1}`,
			skips: []wantSkip{{"/badjson", errNotText}, {"/bin", errNotText}},
		},
		{
			name:  "children win over data",
			nodes: map[string]string{"": "", "/a": "x", "/a/b": "1", "/c": "\xff", "/c/d": "2"},
			want:  `{"a":{"b":1},"c":{"d":2}}`,
			skips: []wantSkip{{"/a", errDataIgnored}, {"/c", errDataIgnored}},
		},
		{
			name: "escaped names are unescaped",
			nodes: map[string]string{
				"": "", "/a%2Fb": "slash", "/100%25": "percent", "/%2E%2E%2E": "dots", "/...": "3 dots",
				"/emoji%F0%9F%98%80": "smile", "/a.b": "dotted",
			},
			want: `{"...":"3 dots","100%":"percent","a.b":"dotted","a/b":"slash","emoji😀":"smile"}`,
			// "%2E%2E%2E" is not EscapeSegment("..."): skipped rather than colliding with "..."
			skips: []wantSkip{{"/%2E%2E%2E", errBadName}},
		},
		{
			name: "names that are not keys are skipped with their subtree",
			nodes: map[string]string{
				"": "", "/100%": "zkCli", "/%41": "not canonical", "/A": "canonical", "/%2E": "dot",
				"/bad%zz": "", "/bad%zz/child": "never read", "/ok": "",
				"/ok/%2E%2E": "dot dot", "/ok/bad%FF": "key not UTF-8",
			},
			// /ok has a child: it is an object, even if no child is a key
			want: `{"A":"canonical","ok":{}}`,
			skips: []wantSkip{
				{"/%2E", errBadName}, {"/%41", errBadName}, {"/100%", errBadName},
				{"/bad%zz", errBadName}, {"/ok/%2E%2E", errBadName}, {"/ok/bad%FF", errBadName},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree()
			if tt.nodes != nil {
				tr = buildTree(t, tt.nodes)
			}
			doc := ReadDocument(tr)
			assert.Equal(t, tt.want, string(doc.Data))
			require.True(t, json.Valid(doc.Data))
			assert.Equal(t, md5Hex(doc.Data), doc.Checksum)
			require.Len(t, doc.Skipped, len(tt.skips), "skipped: %v", doc.Skipped)
			for i, s := range tt.skips {
				assert.Equal(t, s.rel, doc.Skipped[i].rel)
				assert.ErrorIs(t, doc.Skipped[i].reason, s.err)
			}
		})
	}
}

func TestSkippedDescribe(t *testing.T) {
	doc := ReadDocument(buildTree(t, map[string]string{"": "", "/a": "x", "/a/b": "\xff", "/a/%41": ""}))
	var lines []string
	for _, s := range doc.Skipped {
		lines = append(lines, s.Describe(DefaultPrefix))
	}
	assert.Equal(t, []string{
		"zookeeper: config znode /micro-config/a: data ignored: the znode has children",
		`zookeeper: config znode /micro-config/a/%41: name is not an escaped configuration key: not the canonical escape of key "A"`,
		"zookeeper: config znode /micro-config/a/b: data is not UTF-8 text",
	}, lines)
}

// md5Hex is the hex MD5 of b, computed apart from checksum.
func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func TestReadDocumentIsDeterministic(t *testing.T) {
	nodes := map[string]string{"": "", "/z": "1", "/a": "", "/a/y": "[3,2]", "/a/b": `{"q":1,"p":2}`, "/m": "s"}
	first := ReadDocument(buildTree(t, nodes))
	// The same znodes recorded in another order (children of a parent
	// added in reverse) read the same.
	tr := newTree()
	require.NoError(t, tr.setNode("", nil, 1))
	for _, rel := range []string{"/z", "/m", "/a", "/a/y", "/a/b"} {
		require.NoError(t, tr.setNode(rel, []byte(nodes[rel]), 1))
	}
	second := ReadDocument(tr)
	assert.Equal(t, string(first.Data), string(second.Data))
	assert.Equal(t, first.Checksum, second.Checksum)
	assert.Equal(t, `{"a":{"b":{"p":2,"q":1},"y":[3,2]},"m":"s","z":1}`, string(first.Data))

	changed := buildTree(t, nodes)
	require.NoError(t, changed.setNode("/z", []byte("2"), 2))
	assert.NotEqual(t, first.Checksum, ReadDocument(changed).Checksum)
}

// TestReadDocumentLargeValues reads values as large as a znode holds (1 MiB
// less one byte by default).
func TestReadDocumentLargeValues(t *testing.T) {
	const size = 1<<20 - 1
	str := strings.Repeat("x", size)
	arr := "[" + strings.Repeat("1,", (size-2)/2) + "1]"
	bin := bytes.Repeat([]byte{0xff}, size)
	tr := buildTree(t, map[string]string{"": "", "/str": str, "/arr": arr, "/bin": string(bin), "/quoted": `"` + str[:size-2] + `"`})

	doc := ReadDocument(tr)
	require.Len(t, doc.Skipped, 1)
	assert.Equal(t, "/bin", doc.Skipped[0].rel)
	var got map[string]any
	require.NoError(t, json.Unmarshal(doc.Data, &got))
	assert.Len(t, got["str"], size)
	assert.Len(t, got["arr"], (size-2)/2+1)
	assert.Len(t, got["quoted"], size-2)
}

func TestDecodeLeaf(t *testing.T) {
	tests := []struct {
		data string
		want any
	}{
		{"", ""},
		{"Hi", "Hi"},
		{"42", json.Number("42")},
		{"-0.5e-3", json.Number("-0.5e-3")},
		{"true", true},
		{"null", nil},
		{`"x"`, "x"},
		{"[]", []any{}},
		{"{}", map[string]any{}},
		{"{", "{"},
		{"1 2", "1 2"},
		{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10001) + strings.Repeat("]", 10001)}, // deeper than encoding/json allows
	}
	for _, tt := range tests {
		name := tt.data
		if len(name) > 20 {
			name = name[:20]
		}
		t.Run(name, func(t *testing.T) {
			got, err := decodeLeaf([]byte(tt.data))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := decodeLeaf([]byte("\xc3"))
	assert.ErrorIs(t, err, errNotText)
	_, err = decodeLeaf([]byte(`{"k":"a\udc00"}`))
	assert.ErrorIs(t, err, errNotText)
	assert.Contains(t, err.Error(), `it holds \udc00 at byte 7, the JSON escape of a lone UTF-16 surrogate`)
}

// TestDeepZnodeChains reads objects nested by znodes themselves (a chain
// of 10,000 znodes is too long to build here: the walk starts deep).
func TestDeepZnodeChains(t *testing.T) {
	tr := buildTree(t, map[string]string{"": "", "/a": "", "/a/b": "1", "/a/c": "{}", "/s": "1"})
	var skips []Skipped
	v, ok := tr.valueOf("", maxDepth-2, &skips)
	require.True(t, ok)
	// The document's object is at maxDepth-1, /a's at maxDepth: its scalar
	// fits, its empty object does not.
	assert.Equal(t, `{"a":{"b":1},"s":1}`, string(appendJSON(nil, v)))
	require.Len(t, skips, 1)
	assert.Equal(t, "/a/c", skips[0].rel)
	assert.ErrorIs(t, skips[0].reason, errTooDeep)

	skips = nil
	v, ok = tr.valueOf("", maxDepth-1, &skips)
	require.True(t, ok)
	assert.Equal(t, `{"s":1}`, string(appendJSON(nil, v)), "an object below the deepest level is left out")
	require.Len(t, skips, 1)
	assert.Equal(t, "/a", skips[0].rel)
	assert.ErrorIs(t, skips[0].reason, errTooDeep)
	assert.Contains(t, skips[0].reason.Error(), "value nested too deep: nested 1 deep inside 10000 objects, the document would nest 10001 levels, over the 10000 encoding/json reads")
}

func TestLoneSurrogate(t *testing.T) {
	for _, tt := range []struct {
		doc, esc string // esc "": none
		at       int
	}{
		{doc: `"plain"`},
		{doc: `"\ud83d\ude00"`},
		{doc: `"\ud83d\ude00\ud83d\ude00"`},
		{doc: `"\u00e9\n\"\\"`},
		{doc: `"\\ud800"`},
		{doc: `{"\\":"\\\\udc00"}`},
		{doc: `"\udc00"`, esc: `\udc00`, at: 1},
		{doc: `"\ud800"`, esc: `\ud800`, at: 1},
		{doc: `"\ud800\u0041"`, esc: `\ud800`, at: 1},
		{doc: `"\ud800\ud800\udc00"`, esc: `\ud800`, at: 1},
		{doc: `"\ude00\ud83d"`, esc: `\ude00`, at: 1},
		{doc: `["\ud83d\ude00","x\uDBFF"]`, esc: `\uDBFF`, at: 18},
		{doc: `{"k\\":"\\\udc00"}`, esc: `\udc00`, at: 10},
	} {
		esc, at, ok := loneSurrogate([]byte(tt.doc))
		require.True(t, json.Valid([]byte(tt.doc)), tt.doc)
		assert.Equal(t, tt.esc != "", ok, tt.doc)
		assert.Equal(t, tt.esc, esc, tt.doc)
		assert.Equal(t, tt.at, at, tt.doc)
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"<&>", `"<&>"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"ünï😀\x7f", "\"ünï😀\x7f\""},
		{"bad\xff\xfe", `"bad\ufffd\ufffd"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, string(appendString(nil, tt.in)))
		})
	}
}

// FuzzAppendString checks the string encoder against encoding/json: the
// JSON it writes is valid and decodes to what encoding/json's decodes to.
func FuzzAppendString(f *testing.F) {
	for _, seed := range []string{"", "a", "\"\\", "\x00\u2028", "\xff", "😀", "\ud7ff\ue000"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		require.True(t, json.Valid(got), "%q", got)
		ref, err := json.Marshal(s)
		require.NoError(t, err)
		var a, b string
		require.NoError(t, json.Unmarshal(got, &a))
		require.NoError(t, json.Unmarshal(ref, &b))
		require.Equal(t, b, a)
	})
}

// FuzzReadDocument reads snapshots of arbitrary znode names and data: it
// must not panic, must give a canonical JSON object that can be written
// back, report every skip with a known reason, and writing back what it
// read must change nothing.
func FuzzReadDocument(f *testing.F) {
	f.Add("database", []byte(""), "address", []byte("10.0.0.7"), []byte(""))
	f.Add("a%2Fb", []byte(`{"x":[1,2]}`), "%41", []byte(`"s"`), []byte("root data"))
	f.Add("100%", []byte("\xff"), "..", []byte("\x00"), []byte{})
	f.Add("%2E", []byte("1"), "%2E%2E", []byte("null"), []byte(nil))
	f.Add("emoji\U0001F600", []byte("\"\\ud800\""), "tab\t", []byte("[[[[]]]]"), []byte("{"))
	f.Fuzz(func(t *testing.T, name1 string, data1 []byte, name2 string, data2 []byte, rootData []byte) {
		tr := newTree()
		require.NoError(t, tr.setNode("", rootData, 0))
		if strings.Contains(name1, "/") || name1 == "" {
			name1 = engine.EscapeSegment(name1 + "x")
		}
		if strings.Contains(name2, "/") || name2 == "" {
			name2 = engine.EscapeSegment(name2 + "y")
		}
		require.NoError(t, tr.setNode("/"+name1, data1, 0))
		require.NoError(t, tr.setNode("/"+name1+"/"+name2, data2, 0))
		require.NoError(t, tr.setNode("/"+name2, data2, 0))

		doc := ReadDocument(tr)
		again := ReadDocument(tr)
		require.Equal(t, doc.Data, again.Data, "deterministic")
		require.Equal(t, md5Hex(doc.Data), doc.Checksum)
		var obj map[string]any
		require.NoError(t, json.Unmarshal(doc.Data, &obj), "%q", doc.Data)
		canon, err := parseDocument(doc.Data)
		require.NoError(t, err, "a document read can be written")
		require.Equal(t, string(doc.Data), string(appendJSON(nil, canon)), "a document read is canonical")
		for _, s := range doc.Skipped {
			known := errors.Is(s.reason, errBadName) || errors.Is(s.reason, errNotText) || errors.Is(s.reason, errTooDeep) ||
				errors.Is(s.reason, errDataIgnored) || errors.Is(s.reason, errUnreadable)
			require.True(t, known, "%s: %v", s.rel, s.reason)
		}

		ops, err := PlanWrite(DefaultPrefix, tr, doc.Data, testACL)
		require.NoError(t, err)
		require.Empty(t, ops, "writing back what was read changes nothing")
	})
}
