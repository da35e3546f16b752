package configdoc

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Keys and leaf values the random documents draw from: ordinary ones and
// the ones the layout has rules for (escaping, strings that are JSON).
var (
	randomKeys = []string{
		"a", "b", "database", "address", "a.b", "a/b", "%", "%41", "A", "...", ".hidden",
		"ünï", "emoji\U0001F600", "tab\t", "nul\x00", "del\x7f", "\ue000", "\ufff0", "zookeeper", " ",
	}
	randomStrings = []string{
		"", "Hi", "10.0.0.7", "42", " 42 ", "true", "null", "[1]", "{}", `"q"`, "{", "a<b&c>",
		"line\nbreak", "\u2028", "\x00", "  ", "ünïcødé", "\U0001F600",
	}
	randomNumbers = []json.Number{"0", "-1", "1.50e+3", "123456789012345678901234567890", "-0.0"}
)

// randomValue returns a random document value, objects at most depth deep.
func randomValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(10); {
	case n < 3 && depth > 0:
		return randomObject(r, depth-1)
	case n < 5:
		return randomStrings[r.IntN(len(randomStrings))]
	case n < 6:
		return randomNumbers[r.IntN(len(randomNumbers))]
	case n < 7:
		return r.IntN(2) == 0
	case n < 8:
		return nil
	default:
		arr := make([]any, r.IntN(3))
		for i := range arr {
			arr[i] = randomValue(r, min(depth, 1))
		}
		return arr
	}
}

// randomObject returns a random object of up to four keys.
func randomObject(r *rand.Rand, depth int) map[string]any {
	obj := make(map[string]any)
	for range r.IntN(5) {
		obj[randomKeys[r.IntN(len(randomKeys))]] = randomValue(r, depth)
	}
	return obj
}

// randomJunk adds to snap znodes a reader skips: names that are not keys,
// data that is not text, data on znodes with children.
func randomJunk(t testing.TB, r *rand.Rand, snap *Tree) {
	t.Helper()
	for range r.IntN(3) {
		parents := slices.Sorted(maps.Keys(snap.nodes))
		parent := parents[r.IntN(len(parents))]
		name := []string{"%41", "100%", "%2E", "bin", "a"}[r.IntN(5)]
		data := []string{"\xff\xfe", "text", "1"}[r.IntN(3)]
		if _, _, ok := snap.lookup(childRel(parent, name)); ok {
			continue
		}
		require.NoError(t, snap.setNode(childRel(parent, name), []byte(data), 0))
	}
}

// checkRoundTrip writes doc over snap and checks the result: the plan
// applies as one multi, the subtree then reads as doc (up to JSON
// normalization), and writing doc again changes nothing.
func checkRoundTrip(t testing.TB, snap *Tree, doc []byte) *Tree {
	t.Helper()
	ops, err := PlanWrite(DefaultPrefix, snap, doc, testACL)
	if err != nil {
		require.Nil(t, ops, "a refused document has no plan")
		require.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
		return nil
	}
	after, err := applyMulti(snap, DefaultPrefix, ops)
	require.NoError(t, err, "plan %q", describeOps(ops))
	want, err := parseDocument(doc)
	require.NoError(t, err)
	require.Equal(t, string(appendJSON(nil, want)), string(ReadDocument(after).Data), "read after writing %s", doc)
	again, err := PlanWrite(DefaultPrefix, after, doc, testACL)
	require.NoError(t, err)
	require.Empty(t, describeOps(again), "writing %s again", doc)
	return after
}

// TestDocumentRoundTripRandom writes random documents one over another, on
// subtrees holding znodes a reader skips.
func TestDocumentRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		snap := newTree()
		if i%2 == 0 {
			require.NoError(t, snap.setNode("", nil, 0))
		}
		for range 3 {
			if _, _, ok := snap.lookup(""); ok {
				randomJunk(t, r, snap)
			}
			doc, err := json.Marshal(randomObject(r, 3))
			require.NoError(t, err)
			snap = checkRoundTrip(t, snap, doc)
			require.NotNil(t, snap, "refused %s", doc)
		}
	}
}

// FuzzDocumentRoundTrip writes an arbitrary document over the subtree that
// another arbitrary document (when valid) and a znode a reader may skip
// left: it is refused with no plan, or it round-trips.
func FuzzDocumentRoundTrip(f *testing.F) {
	f.Add([]byte(`{"database":{"address":"10.0.0.7","port":3306}}`), []byte(`{"database":"flat","greeting":"Hi"}`), "bin", []byte("\xff"))
	f.Add([]byte(`{}`), []byte(`{"a/b":{"c":[1,{"x":null}]},"s":"42","e":{}}`), "%41", []byte("x"))
	f.Add([]byte(`{"a":{"b":{"c":1}}}`), []byte(`{"a":"leaf"}`), "a", []byte("\xfe"))
	f.Add([]byte(`{"p":{"q":1}}`), []byte(`{"p":{}}`), "100%", []byte(""))
	f.Add([]byte(`not json`), []byte(`{"":1}`), "", []byte(nil))
	f.Add([]byte(`{"x":1}`), []byte(`{"x":1,"x":2}`), "%2E", []byte("1"))
	f.Add([]byte(`[]`), []byte(`{"ünï\u0000":"\ud800"}`), "x", []byte(`{"y":1}`))
	f.Fuzz(func(t *testing.T, before, after []byte, junkName string, junkData []byte) {
		snap := newTree()
		require.NoError(t, snap.setNode("", nil, 0))
		if ops, err := PlanWrite(DefaultPrefix, snap, before, testACL); err == nil {
			snap, err = applyMulti(snap, DefaultPrefix, ops)
			require.NoError(t, err)
		}
		if junkName != "" && !strings.Contains(junkName, "/") {
			if _, _, ok := snap.lookup("/" + junkName); !ok {
				require.NoError(t, snap.setNode("/"+junkName, junkData, 0))
			}
		}
		checkRoundTrip(t, snap, after)
	})
}
