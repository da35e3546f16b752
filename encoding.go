package zookeeper

// This file defines what the plugin stores in ZooKeeper. It is a
// compatibility contract: plugins of other versions, and the older
// github.com/go-micro/plugins/v4/registry/zookeeper, read and write the same
// layout, so a fleet can mix them during a migration.
//
// Layout
//
//	<chroot><prefix>                     persistent znode (default /micro-registry)
//	<chroot><prefix>/<service>           container znode (persistent on servers before 3.6)
//	<chroot><prefix>/<service>/<node-id> ephemeral znode, one per registered node
//
// <service> and <node-id> are the service name and node id, escaped with
// escapeSegment so that each is exactly one valid path segment. Names made of
// ordinary characters (letters, digits, '.', '-', '_', ':' and so on) are
// stored unchanged, which gives exactly the paths the older plugin writes.
//
// Payload
//
// The data of a node znode is the JSON encoding (encoding/json) of a
// registry.Service that carries the service's name, version, metadata and
// endpoints, and exactly one node: the node the znode stands for.
//
//	{"name":"greeter","version":"1.0.0","metadata":{...},"endpoints":[...],
//	 "nodes":[{"metadata":{...},"id":"greeter-1b4e...","address":"10.0.0.7:4100"}]}
//
// Readers take the service name, version and node id from the payload, not
// from the path. A znode whose data does not decode to such a service is not
// a registration: readers skip it (and log it) and never fail because of it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go-micro.dev/v4/registry"
)

// maxPayloadBytes is the largest node payload Register accepts. ZooKeeper
// rejects requests larger than its jute.maxbuffer (1 MiB less one byte by
// default); the path, ACL and request header need some of that room.
const maxPayloadBytes = 1<<20 - 16<<10

// errInvalidPayload marks znode data that is not a registration.
var errInvalidPayload = errors.New("not a service registration")

// encodeNode returns the payload stored for one node of s: s's name,
// version, metadata and endpoints with exactly that node. The bytes are those
// the older plugin writes for the same input.
func encodeNode(s *registry.Service, n *registry.Node) ([]byte, error) {
	one := registry.Service{
		Name:      s.Name,
		Version:   s.Version,
		Metadata:  s.Metadata,
		Endpoints: s.Endpoints,
		Nodes:     []*registry.Node{n},
	}
	b, err := json.Marshal(&one)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: encode service %q node %q: %w", s.Name, n.Id, err)
	}
	if len(b) > maxPayloadBytes {
		return nil, fmt.Errorf("zookeeper: service %q node %q: payload is %d bytes, over the %d byte limit of a znode", s.Name, n.Id, len(b), maxPayloadBytes)
	}
	return b, nil
}

// decodeNode parses znode data written by encodeNode (or by the older
// plugin). It accepts only a JSON object naming a service and holding exactly
// one node with a non-empty id; anything else is errInvalidPayload.
func decodeNode(data []byte) (*registry.Service, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errInvalidPayload)
	}
	var s registry.Service
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalidPayload, err)
	}
	switch {
	case s.Name == "":
		return nil, fmt.Errorf("%w: no service name", errInvalidPayload)
	case len(s.Nodes) != 1:
		return nil, fmt.Errorf("%w: %d nodes, want 1", errInvalidPayload, len(s.Nodes))
	case s.Nodes[0] == nil || s.Nodes[0].Id == "":
		return nil, fmt.Errorf("%w: node without id", errInvalidPayload)
	}
	// A null endpoint carries nothing, and go-micro's copy helpers
	// (util/registry.CopyService, used by every reader) dereference each
	// endpoint: drop them.
	s.Endpoints = slices.DeleteFunc(s.Endpoints, func(e *registry.Endpoint) bool { return e == nil })
	return &s, nil
}

// validateService checks what Register and Deregister need from s before
// anything is sent to ZooKeeper.
func validateService(s *registry.Service) error {
	switch {
	case s == nil:
		return errors.New("zookeeper: service is nil")
	case s.Name == "":
		return errors.New("zookeeper: service name is empty")
	case len(s.Nodes) == 0:
		return fmt.Errorf("zookeeper: service %q has no nodes", s.Name)
	}
	seen := make(map[string]bool, len(s.Nodes))
	for i, n := range s.Nodes {
		switch {
		case n == nil:
			return fmt.Errorf("zookeeper: service %q: node %d is nil", s.Name, i)
		case n.Id == "":
			return fmt.Errorf("zookeeper: service %q: node %d has an empty id", s.Name, i)
		case seen[n.Id]:
			return fmt.Errorf("zookeeper: service %q: node id %q appears twice", s.Name, n.Id)
		}
		seen[n.Id] = true
	}
	for i, e := range s.Endpoints {
		if e == nil {
			return fmt.Errorf("zookeeper: service %q: endpoint %d is nil", s.Name, i)
		}
	}
	return nil
}

// escapeSegment turns a service name or node id into one valid ZooKeeper
// path segment. It is reversible (unescapeSegment) and the identity on
// ordinary names. Escaped as %XX (upper-case hex of each UTF-8 byte): '%',
// '/', the characters ZooKeeper refuses in paths (U+0000-U+001F,
// U+007F-U+009F, U+D800-U+F8FF, U+FFF0 and above, which includes every
// character outside the Basic Multilingual Plane since the server checks
// UTF-16 units) and bytes that are not UTF-8. The segments "." and ".." are
// escaped whole. s must not be empty.
func escapeSegment(s string) string {
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

// unescapeSegment reverses escapeSegment.
func unescapeSegment(s string) (string, error) {
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
			return "", fmt.Errorf("zookeeper: bad escape in path segment %q", s)
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("zookeeper: bad escape in path segment %q", s)
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

// servicePath is the directory znode of the service called name under root.
func servicePath(root, name string) string {
	return root + "/" + escapeSegment(name)
}

// nodePath is the znode of node id of the service called name under root.
func nodePath(root, name, id string) string {
	return root + "/" + escapeSegment(name) + "/" + escapeSegment(id)
}
