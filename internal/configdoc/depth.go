package configdoc

import (
	"errors"
	"fmt"
	"strings"
)

// A document is read by every service that loads the configuration, with
// encoding/json (go-micro's JSON encoder), which refuses a document nested
// deeper than maxDepth: one value nested too deep would make the whole
// configuration unreadable. The depth of a value in the document is the
// number of objects enclosing it, one per key of its path (the top-level
// object included), plus its own nesting; writers refuse a value that
// would exceed maxDepth there, and readers leave out a znode whose value
// would (errTooDeep), so that every other key still loads.

// maxDepth is the deepest nesting encoding/json reads: arrays and objects
// nested 10,000 deep decode, 10,001 do not.
const maxDepth = 10000

// errTooDeep marks a znode whose value, at its place in the document,
// would nest deeper than maxDepth.
var errTooDeep = errors.New("value nested too deep")

// nesting is the depth of the arrays and objects of v (a value decodeLeaf
// or parseValue built): 0 for a scalar, 1 for [] or {}, 2 for [[]].
func nesting(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			n = max(n, nesting(e))
		}
	case []any:
		for _, e := range v {
			n = max(n, nesting(e))
		}
	default:
		return 0
	}
	return n + 1
}

// relDepth is the number of objects enclosing the value of the znode rel
// in the document: one per segment ("" is the document itself, 0).
func relDepth(rel string) int { return strings.Count(rel, "/") }

// tooDeep returns errTooDeep, saying why, when a value of nesting n inside
// depth objects makes the document deeper than maxDepth; nil otherwise.
func tooDeep(depth, n int) error {
	if depth+n <= maxDepth {
		return nil
	}
	return fmt.Errorf("%w: nested %d deep inside %d objects, the document would nest %d levels, over the %d encoding/json reads", errTooDeep, n, depth, depth+n, maxDepth)
}
