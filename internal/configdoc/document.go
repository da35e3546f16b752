package configdoc

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Reasons a reader leaves a znode, or its data, out of a document.
// errBadName (keys.go) and errTooDeep (depth.go) are the others.
var (
	// errNotText marks a childless znode whose data is not UTF-8, or is
	// JSON holding the escape of a lone surrogate (text.go): a JSON
	// document holds only text, and the alternatives (replacing the bad
	// bytes, or base64 that reads as an ordinary string) would hand the
	// application a value nobody wrote.
	errNotText = errors.New("data is not UTF-8 text")
	// errDataIgnored marks the data of a znode that stands for an object:
	// the prefix znode, or a znode with children.
	errDataIgnored = errors.New("data ignored")
	// errUnreadable marks a znode this client may not read (its ACL does
	// not grant READ to the source's credentials).
	errUnreadable = errors.New("not readable")
)

// Document is the configuration a snapshot holds, as a source hands it to
// go-micro.
type Document struct {
	Data     []byte    // a JSON object, keys sorted at every level, no insignificant space
	Checksum string    // hex MD5 of Data: what source.ChangeSet.Sum returns, and go-micro's sources store as Checksum
	Skipped  []Skipped // what Data leaves out, in path order, for the caller to log
}

// Skipped is a znode, or the data of a znode, that a document leaves out.
type Skipped struct {
	rel    string // the znode, relative to the prefix ("" is the prefix znode)
	reason error  // wraps errBadName, errNotText, errTooDeep, errDataIgnored or errUnreadable
}

// Describe renders s for a log line, naming the znode by its full path
// under prefix.
func (s Skipped) Describe(prefix string) string {
	return fmt.Sprintf("zookeeper: config znode %s: %v", znodePath(prefix, s.rel), s.reason)
}

// ReadDocument turns a snapshot into its document. A missing prefix znode
// reads as the empty object. It never fails: what it cannot read it skips.
func ReadDocument(t *Tree) Document {
	var skips []Skipped
	v, ok := t.valueOf("", 0, &skips)
	if !ok {
		v = map[string]any{}
	}
	data := appendJSON(nil, v)
	return Document{Data: data, Checksum: checksum(data), Skipped: skips}
}

// checksum is the hex MD5 of data, as source.ChangeSet.Sum computes it: equal
// documents have equal checksums because documents are canonical.
func checksum(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// valueOf returns the value the znode rel stands for, inside depth objects
// of the document (relDepth(rel)), appending what it leaves out to skips
// (when skips is not nil). ok is false when rel is not recorded or is
// skipped itself. The prefix znode is always an object.
func (t *Tree) valueOf(rel string, depth int, skips *[]Skipped) (v any, ok bool) {
	n := t.nodes[rel]
	if n == nil {
		return nil, false
	}
	skip := func(rel string, reason error) {
		if skips != nil {
			*skips = append(*skips, Skipped{rel: rel, reason: reason})
		}
	}
	if n.err != nil {
		skip(rel, fmt.Errorf("%w: %v", errUnreadable, n.err))
		return nil, false
	}
	if rel != "" && len(n.children) == 0 {
		v, err := leafValue(n.data, depth)
		if err != nil {
			skip(rel, err)
			return nil, false
		}
		return v, true
	}
	if err := tooDeep(depth, 1); err != nil {
		skip(rel, err)
		return nil, false
	}
	if len(n.data) > 0 {
		if rel == "" {
			skip(rel, fmt.Errorf("%w: the prefix znode stands for the whole object", errDataIgnored))
		} else {
			skip(rel, fmt.Errorf("%w: the znode has children", errDataIgnored))
		}
	}
	obj := make(map[string]any, len(n.children))
	for _, name := range t.children(rel) {
		key, err := keyOfName(name)
		if err != nil {
			skip(childRel(rel, name), err)
			continue
		}
		if v, ok := t.valueOf(childRel(rel, name), depth+1, skips); ok {
			obj[key] = v
		}
	}
	return obj, true
}

// readable reports whether a reader reads the znode rel (its data, or the
// object of its children), rather than skip it with errNotText, errTooDeep
// or errUnreadable. Names are judged apart, by keyOfName.
func (t *Tree) readable(rel string) bool {
	n := t.nodes[rel]
	switch {
	case n == nil || n.err != nil:
		return false
	case rel == "" || len(n.children) > 0:
		return tooDeep(relDepth(rel), 1) == nil
	}
	_, err := leafValue(n.data, relDepth(rel))
	return err == nil
}

// leafValue returns the value of a childless znode's data inside depth
// objects of the document (decodeLeaf), or errTooDeep when it would nest
// the document deeper than maxDepth.
func leafValue(data []byte, depth int) (any, error) {
	v, err := decodeLeaf(data)
	if err != nil {
		return nil, err
	}
	if err := tooDeep(depth, nesting(v)); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeLeaf returns the value of a childless znode's data: the JSON value
// it holds, or else the data as a string. Data that is not UTF-8, and JSON
// holding the escape of a lone surrogate, are errNotText.
func decodeLeaf(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, errNotText
	}
	if json.Valid(data) {
		if esc, at, ok := loneSurrogate(data); ok {
			return nil, fmt.Errorf("%w: it holds %s at byte %d, the JSON escape of a lone UTF-16 surrogate, which encoding/json would read as U+FFFD", errNotText, esc, at)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			return v, nil
		}
	}
	return string(data), nil
}

// appendJSON appends the canonical JSON encoding of v to b: no insignificant
// space, object keys sorted, numbers as written, no HTML escaping. v is made
// of what decodeLeaf and parseDocument build: map[string]any, []any, string,
// json.Number, bool and nil.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, v[k])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case string:
		return appendString(b, v)
	case json.Number:
		return append(b, v...)
	case bool:
		return strconv.AppendBool(b, v)
	default: // nil, the only other value decoding yields
		return append(b, "null"...)
	}
}

// appendString appends s as a JSON string. Bytes that are not UTF-8 become
// U+FFFD, as encoding/json does.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // valid JSON, but not JavaScript
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			b = append(b, s[i:i+w]...)
		}
		i += w
	}
	return append(b, '"')
}
