package gendocs

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// abbreviations end with a period that does not end a sentence.
var abbreviations = []string{"e.g.", "i.e."}

// sentences splits a doc comment's text into sentences, each with its
// white space collapsed. A sentence ends at '.', '!' or '?' followed by
// white space and a character that is not a lower-case letter, or at the
// end of the text; "e.g." and "i.e." end none.
func sentences(text string) []string {
	s := strings.Join(strings.Fields(text), " ")
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		if i+1 < len(s) {
			if s[i+1] != ' ' {
				continue
			}
			next, _ := utf8.DecodeRuneInString(s[i+2:])
			if unicode.IsLower(next) {
				continue
			}
		}
		word := s[strings.LastIndexByte(s[:i], ' ')+1 : i+1]
		if isAbbreviation(word) {
			continue
		}
		out = append(out, strings.TrimSpace(s[start:i+1]))
		start = i + 1
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

func isAbbreviation(word string) bool {
	for _, a := range abbreviations {
		if strings.HasSuffix(word, a) {
			return true
		}
	}
	return false
}

// withoutName returns a doc sentence that begins with name ("SessionTimeout
// sets ...", "OpenDirs, with credentials, accepts ...") without it, its
// first letter upper-case.
func withoutName(sentence, name string) string {
	rest, ok := strings.CutPrefix(sentence, name)
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != ',') {
		return sentence
	}
	rest = strings.TrimLeft(rest, " ,")
	r, n := utf8.DecodeRuneInString(rest)
	return string(unicode.ToUpper(r)) + rest[n:]
}

var (
	// goNameRE matches a Go name, maybe qualified by a package:
	// SessionTimeout, registry.Addrs, zk.WorldACL.
	goNameRE = regexp.MustCompile(`^(?:[a-z][a-z0-9]*\.)?[A-Z][A-Za-z0-9_]*`)
	// envRE matches an environment variable of the module, maybe a family
	// of them (MICRO_REGISTRY_ZOOKEEPER_TLS*).
	envRE = regexp.MustCompile(`^MICRO_[A-Z0-9_]*[A-Z0-9]\*?`)
)

// inline formats doc text for a Markdown table cell: Go expressions
// (calls, qualified names) and environment variables become code, the
// package constants that consts knows become their values in code, and
// '|' is escaped. A constant followed by its value in parentheses, as doc
// comments write them for readers of go doc ("DefaultPrefix
// (\"/micro-registry\")"), must state the constant's true value, and
// becomes the value alone.
func inline(text string, consts func(name string) (constValue, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(text); {
		rest := text[i:]
		var m string
		if i == 0 || !isWordByte(text[i-1]) {
			if m = envRE.FindString(rest); m != "" {
				b.WriteString(code(m))
				i += len(m)
				continue
			}
			m = goNameRE.FindString(rest)
		}
		if m == "" {
			if text[i] == '|' {
				b.WriteString(`\|`)
			} else {
				b.WriteByte(text[i])
			}
			i++
			continue
		}
		after := rest[len(m):]
		if n := parenLen(after); n > 0 {
			b.WriteString(code(m + after[:n]))
			i += len(m) + n
			continue
		}
		if v, ok := consts(m); ok {
			i += len(m)
			if stated, ok := strings.CutPrefix(after, " ("); ok {
				if n := parenLen("(" + stated); n > 0 {
					said := stated[:n-2]
					if !v.matches(said) {
						return "", fmt.Errorf("%q says %s is (%s), but it is %s", text, m, said, v)
					}
					i += 1 + n
				}
			}
			b.WriteString(code(v.String()))
			continue
		}
		if strings.Contains(m, ".") {
			b.WriteString(code(m))
		} else {
			b.WriteString(m)
		}
		i += len(m)
	}
	return b.String(), nil
}

// isWordByte reports whether c may be part of a word.
func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c == '/' || c == '"' || c == '\'' ||
		('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// parenLen returns the length of the parenthesised group s begins with,
// parentheses included, or 0.
func parenLen(s string) int {
	if !strings.HasPrefix(s, "(") {
		return 0
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// code is s as Markdown inline code in a table cell ('|' escaped, as
// GitHub's tables require even in code).
func code(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}
