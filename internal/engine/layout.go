package engine

// This file is the znode layout: the one place that builds and parses the
// paths the registry uses. The layout is a compatibility contract (see
// payload.go for the data):
//
//	<chroot><prefix>                     persistent znode (default /micro-registry)
//	<chroot><prefix>/<service>           container znode (persistent on servers before 3.6)
//	<chroot><prefix>/<service>/<node-id> ephemeral znode, one per registered node
//
// <service> and <node-id> are the service name and node id escaped with
// EscapeSegment, so that each is exactly one valid path segment. Names made
// of ordinary characters are stored unchanged, which gives exactly the paths
// of the older github.com/go-micro/plugins/v4/registry/zookeeper.

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// layout builds and parses the paths under root (chroot + prefix).
type layout struct {
	root string
}

// dirRef names a service directory: an escaped service name.
type dirRef = string

// nodeRef names a node znode by its escaped service and node id.
type nodeRef struct{ dir, child string }

// key returns the ref as one string, "<dir>/<child>", for work queues; the
// escaping keeps it unambiguous (see parseNodeKey).
func (r nodeRef) key() string { return r.dir + "/" + r.child }

// parseNodeKey reverses nodeRef.key.
func parseNodeKey(key string) nodeRef {
	dir, child, _ := strings.Cut(key, "/")
	return nodeRef{dir, child}
}

// refOf returns the ref of node id of the service called name.
func refOf(name, id string) nodeRef {
	return nodeRef{EscapeSegment(name), EscapeSegment(id)}
}

// servicePath is the directory znode of the service called name.
func (l layout) servicePath(name string) string { return l.dirPath(EscapeSegment(name)) }

// nodePath is the znode of node id of the service called name.
func (l layout) nodePath(name, id string) string { return l.refPath(refOf(name, id)) }

// dirPath is the path of an (escaped) service directory.
func (l layout) dirPath(dir dirRef) string { return l.root + "/" + dir }

// refPath is the path of a node znode.
func (l layout) refPath(r nodeRef) string { return l.root + "/" + r.dir + "/" + r.child }

// pathKind says what a path of the layout is.
type pathKind int

const (
	kindOutside pathKind = iota // not in the layout (or deeper than a node)
	kindRoot                    // the root itself
	kindDir                     // a service directory
	kindNode                    // a node znode
)

// parse says what p is, with its directory and, for a node, its ref.
func (l layout) parse(p string) (pathKind, nodeRef) {
	if p == l.root {
		return kindRoot, nodeRef{}
	}
	rel, ok := strings.CutPrefix(p, l.root+"/")
	if !ok || rel == "" {
		return kindOutside, nodeRef{}
	}
	dir, child, isNode := strings.Cut(rel, "/")
	switch {
	case !isNode:
		return kindDir, nodeRef{dir: dir}
	case child == "" || strings.Contains(child, "/"):
		return kindOutside, nodeRef{}
	}
	return kindNode, nodeRef{dir, child}
}

// ancestor is a directory the registry creates before a node: the service
// directory (a container znode, with the directory ACL) or the root and its
// ancestors (persistent, with the root ACL).
type ancestor struct {
	path      string
	container bool
}

// ancestors returns the directories above node r, deepest first: its
// service directory, the root, and the root's ancestors up to "/".
func (l layout) ancestors(r nodeRef) []ancestor {
	out := []ancestor{{l.dirPath(r.dir), true}}
	for p := l.root; p != "/" && p != "."; p = path.Dir(p) {
		out = append(out, ancestor{p, false})
	}
	return out
}

// parent returns the directory holding p, for error messages.
func parent(p string) string { return path.Dir(p) }

// EscapeSegment turns a service name or node id into one valid ZooKeeper
// path segment. It is reversible (UnescapeSegment) and the identity on
// ordinary names. Escaped as %XX (upper-case hex of each UTF-8 byte): '%',
// '/', the characters ZooKeeper refuses in paths (U+0000-U+001F,
// U+007F-U+009F, U+D800-U+F8FF, U+FFF0 and above, which includes every
// character outside the Basic Multilingual Plane since the server checks
// UTF-16 units) and bytes that are not UTF-8. The segments "." and ".." are
// escaped whole. s must not be empty.
func EscapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	clean := true
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if mustEscape(r, w) {
			clean = false
			break
		}
		i += w
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if mustEscape(r, w) {
			for j := i; j < i+w; j++ {
				b.WriteByte('%')
				b.WriteByte(hex[s[j]>>4])
				b.WriteByte(hex[s[j]&0xF])
			}
		} else {
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

// mustEscape reports whether the rune r, w bytes long in its string, cannot
// appear as itself in an escaped segment.
func mustEscape(r rune, w int) bool {
	switch {
	case r == utf8.RuneError && w <= 1: // not UTF-8
		return true
	case r == '%', r == '/':
		return true
	case r <= 0x1F, r >= 0x7F && r <= 0x9F:
		return true
	case r >= 0xD800 && r <= 0xF8FF, r >= 0xFFF0:
		return true
	}
	return false
}

// UnescapeSegment reverses EscapeSegment.
func UnescapeSegment(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape in path segment %s", quoteShort(s))
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bad escape in path segment %s", quoteShort(s))
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// maxQuoted is how much of a name quoteShort shows.
const maxQuoted = 64

// quoteShort quotes s for an error message, cut to maxQuoted bytes: names
// come from callers and from znodes and may be huge.
func quoteShort(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}
