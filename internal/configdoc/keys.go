package configdoc

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// Keys are stored as path segments escaped by the engine's
// engine.EscapeSegment, the escaping the registry uses for service names
// and node ids: the identity on ordinary keys; '%', '/' and the characters
// ZooKeeper refuses in paths (U+0000-U+001F, U+007F-U+009F, U+D800-U+F8FF,
// U+FFF0 and above) become %XX (upper-case hex of each UTF-8 byte).
// EscapeSegment would also escape the keys "." and ".." whole (%2E,
// %2E%2E), and bytes that are not UTF-8, but those are not keys (see
// validateKey).

// errBadName marks a child znode whose name is not the escaped form of a
// configuration key (engine.EscapeSegment): the document cannot address it, so readers
// leave it out and writers leave it alone.
var errBadName = errors.New("name is not an escaped configuration key")

// keyOfName returns the configuration key a child znode called name stands
// for. Only the names engine.EscapeSegment produces are keys, so that keys
// and names map one to one: a name that does not unescape, that is not in
// EscapeSegment's form ("%41", "%2f", a raw control character), or that
// stands for a key validateKey refuses ("%2E", "%FF") is errBadName.
func keyOfName(name string) (string, error) {
	key, err := engine.UnescapeSegment(name)
	if err != nil {
		return "", fmt.Errorf("%w: bad escape", errBadName)
	}
	if err := validateKey(key); err != nil {
		return "", fmt.Errorf("%w: %v", errBadName, err)
	}
	if engine.EscapeSegment(key) != name {
		return "", fmt.Errorf("%w: not the canonical escape of key %q", errBadName, key)
	}
	return key, nil
}

// validateKey checks a key of an object a document stores as znodes. Empty
// keys have no znode. "." and ".." are refused, by writers and readers
// alike: every version of the source has left the znodes %2E and %2E%2E
// out as names that are not keys, so writing them now would make one
// document read differently by the sources already deployed (the layout
// is a compatibility contract); zkmicro config's dotted KEY cannot name
// them either, and such a key is far more often a path built by mistake
// than a name someone chose. A key that is not UTF-8 cannot be written in
// a JSON document (EscapeSegment escapes the bytes, but the key would read
// back as another one).
func validateKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case key == "." || key == "..":
		return fmt.Errorf("key %q is reserved", key)
	case !utf8.ValidString(key):
		return fmt.Errorf("key %q is not UTF-8", key)
	}
	return nil
}
