package configdoc

import (
	"strconv"
	"unicode/utf16"
)

// Keys and values are text. Bytes that are not UTF-8 are refused by
// writers and left out by readers (errNotText); so is the other way JSON
// has to carry what is not text: a \u escape of a lone UTF-16 surrogate
// ("\udc00", or "\ud800" not followed by a low surrogate's escape), which
// encoding/json silently reads as U+FFFD, a value nobody wrote. A pair of
// escapes of a high and a low surrogate ("\ud83d\ude00") is one character,
// and fine.

// loneSurrogate returns the first \u escape of a lone surrogate in the
// strings of doc (valid JSON), and its byte offset; ok is false if there
// is none.
func loneSurrogate(doc []byte) (esc string, at int, ok bool) {
	inString := false
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && doc[i+1] != 'u':
			i++ // a one-character escape: \" \\ \/ \b \f \n \r \t
		case c == '\\':
			r := escapedRune(doc[i : i+6])
			switch {
			case !utf16.IsSurrogate(r):
				i += 5
			case r < 0xdc00 && i+12 <= len(doc) && doc[i+6] == '\\' && doc[i+7] == 'u' && isLowSurrogate(escapedRune(doc[i+6:i+12])):
				i += 11 // a pair: one character
			default:
				return string(doc[i : i+6]), i, true
			}
		}
	}
	return "", 0, false
}

// escapedRune is the code unit of a \uXXXX escape (valid JSON).
func escapedRune(esc []byte) rune {
	n, _ := strconv.ParseUint(string(esc[2:6]), 16, 16)
	return rune(n)
}

// isLowSurrogate reports whether r is a low (trailing) UTF-16 surrogate.
func isLowSurrogate(r rune) bool { return r >= 0xdc00 && r <= 0xdfff }
