package zktest

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ValidSegment applies ZooKeeper's rules for one path segment
// (org.apache.zookeeper.common.PathUtils.validatePath), which look at
// UTF-16 code units: tests check that escaped names obey them.
func ValidSegment(seg string) error {
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
		if c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0 {
			return fmt.Errorf("invalid character %U at %d of %q", c, i, seg)
		}
	}
	return nil
}
