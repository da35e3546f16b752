package termtext

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscape(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
		keepLinesWant  string // "": as want
	}{
		{name: "plain", in: "greeter-1 10.0.0.7:4100", want: "greeter-1 10.0.0.7:4100"},
		{name: "empty", in: "", want: ""},
		{name: "printable Unicode", in: "héllo wörld 日本 ✓ \ufffd", want: "héllo wörld 日本 ✓ \ufffd"},
		{name: "backslash", in: `C:\dir\x1b`, want: `C:\dir\x1b`},
		{name: "tab, line feed, carriage return", in: "a\tb\nc\rd", want: `a\tb\nc\rd`, keepLinesWant: "a\tb\nc\\rd"},
		{name: "SGR colour", in: "\x1b[31mred\x1b[0m", want: `\x1b[31mred\x1b[0m`},
		{name: "window title and bell", in: "\x1b]0;pwned\x07", want: `\x1b]0;pwned\x07`},
		{name: "clear screen, NUL, vertical tab, form feed", in: "\x1b[2J\x00\v\f", want: `\x1b[2J\x00\x0b\x0c`},
		{name: "DEL", in: "a\x7fb", want: `a\x7fb`},
		{name: "C1 CSI and NEL", in: "\u009b31m\u0085", want: `\u009b31m\u0085`},
		{name: "right-to-left override", in: "invoice\u202Etxt.exe", want: `invoice\u202etxt.exe`},
		{name: "bidi isolates and embeddings", in: "\u2066a\u2069\u202Ab\u202C", want: `\u2066a\u2069\u202ab\u202c`},
		{name: "zero width, soft hyphen, BOM", in: "a\u200Bb\u00ADc\uFEFF", want: `a\u200bb\u00adc\ufeff`},
		{name: "line and paragraph separators", in: "a\u2028b\u2029", want: `a\u2028b\u2029`},
		{name: "tag character beyond the BMP", in: "flag\U000E0041", want: `flag\U000e0041`},
		{name: "invalid UTF-8", in: "a\xffb\xc3", want: `a\xffb\xc3`},
		{name: "encoded surrogate", in: "\xed\xa0\x80", want: `\xed\xa0\x80`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Escape(tt.in, false))
			keepLinesWant := tt.keepLinesWant
			if keepLinesWant == "" {
				keepLinesWant = tt.want
			}
			assert.Equal(t, keepLinesWant, Escape(tt.in, true), "keepLines")
		})
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"greeter", "\x1b]0;x\x07", "a\u202Eb", "\xff\n\t\r", "\u0085\u2028", "日本\U000E0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, keepLines := range []bool{false, true} {
			got := Escape(s, keepLines)
			requireSafe(t, got, keepLines)
			if FirstUnsafe(s, keepLines) < 0 {
				require.Equal(t, s, got, "safe text is left alone")
			}
		}
	})
}

// requireSafe fails unless out is valid UTF-8 without a character that
// could drive a terminal or reorder text: no control character (but tabs
// and line feeds with keepLines), no format character, no line or
// paragraph separator.
func requireSafe(t *testing.T, out string, keepLines bool) {
	t.Helper()
	require.True(t, utf8.ValidString(out), "invalid UTF-8 in %q", out)
	for _, r := range out {
		if keepLines && (r == '\n' || r == '\t') {
			continue
		}
		require.False(t, unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp),
			"%U reaches the terminal in %q", r, out)
	}
}
