// Package termtext escapes text that anyone may write before it reaches an
// operator's terminal: service names, versions, node ids, addresses and
// metadata are whatever a registrant wrote, configuration keys and values
// whatever a config writer did, and errors and log lines quote both. Every
// character of it that could drive a terminal or change how the text
// around it reads is printed as a visible escape by Escape, the one
// function zkmicro's text output goes through (-o json is for programs and
// stays exact).
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with these written as escapes:
//   - C0 controls, DEL and C1 controls: ESC (and the C1 CSI, U+009B) start
//     sequences that recolour, move the cursor, rewrite the window title,
//     hide or overwrite what was printed; BEL rings; CR returns to the
//     start of the line;
//   - Unicode format characters (category Cf): the bidi overrides,
//     embeddings and isolates (U+202A–U+202E, U+2066–U+2069) that make a
//     terminal show text in another order than it is, zero-width
//     characters, the byte order mark;
//   - the line and paragraph separators U+2028 and U+2029;
//   - each byte that is not part of valid UTF-8.
//
// Tab, line feed and carriage return print as \t, \n and \r; other
// characters below U+0080 and invalid bytes as \xHH; the rest as \uHHHH or
// \UHHHHHHHH. With keepLines, tabs and line feeds stay as they are, for a
// multi-line value printed as a block; without it the result stays on one
// line and, in a table, in its column. Everything else, backslashes
// included, is left alone: the result is for people to read, not to parse.
func Escape(s string, keepLines bool) string {
	i := FirstUnsafe(s, keepLines)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unsafeForTerminal(r, keepLines):
			b.WriteString(s[i : i+size])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

// FirstUnsafe is the index in s of the first character Escape escapes, or
// -1: with keepLines, -1 means s may be printed as it is.
func FirstUnsafe(s string, keepLines bool) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
		if unsafeForTerminal(r, keepLines) {
			return i
		}
	}
	return -1
}

// unsafeForTerminal reports whether Escape escapes the rune r.
func unsafeForTerminal(r rune, keepLines bool) bool {
	if keepLines && (r == '\n' || r == '\t') {
		return false
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}
