package configdoc

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// DefaultPrefix is the znode whose subtree is the configuration when no
// prefix is given.
const DefaultPrefix = "/micro-config"

// validatePrefix checks that prefix is an absolute ZooKeeper path other than
// the root: "/" followed by valid segments, no trailing "/".
func validatePrefix(prefix string) error {
	if prefix == "/" || !strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("zookeeper: config prefix %q: want an absolute path below /", prefix)
	}
	for _, seg := range strings.Split(prefix[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("zookeeper: config prefix %q: bad segment %q", prefix, seg)
		}
		for i := 0; i < len(seg); {
			_, w := utf8.DecodeRuneInString(seg[i:])
			// The characters EscapeSegment escapes, but '%' and '.' (a
			// segment "." or ".." is refused above).
			if c := seg[i : i+w]; c != "%" && c != "." && engine.EscapeSegment(c) != c {
				return fmt.Errorf("zookeeper: config prefix %q: ZooKeeper refuses the character %q", prefix, c)
			}
			i += w
		}
	}
	return nil
}

// znodePath is the full path of the znode rel (a path in a tree) under
// prefix.
func znodePath(prefix, rel string) string {
	return prefix + rel
}
