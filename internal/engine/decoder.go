package engine

import (
	"bytes"
	"encoding/json"
)

// nodesKey starts the node list of a payload; encodeNode (like the old
// plugin) writes it last, after the service-level fields.
const nodesKey = `"nodes":[`

// maxSharedParts bounds the service-level parts a sharedDecoder keeps; it
// starts afresh when it would hold more.
const maxSharedParts = 16

// sharedDecoder decodes node payloads exactly as decodeNode does, but
// decodes the service-level part of a payload (name, version, metadata,
// endpoints: everything before the node) once for all payloads that carry
// the same bytes there, which the nodes of one version of a service do
// (it keeps the 128-bit sums of those bytes, not the bytes).
// Decoding such a payload then decodes only its node, and the services
// returned share one Metadata map and one Endpoints slice; with a pool,
// every metadata map equal to one decoded before is that one (go-micro
// gives every node of a fleet the same): they must be treated as
// read-only, like everything the mirror holds.
//
// A part is shared only when it is plain enough that decoding any node
// after it is independent of it: ASCII without escapes, a well-formed
// object prefix whose only key resembling "nodes" is the last one. The
// results equal decodeNode's as long as decodeNode validates the service
// part and the node part of a payload independently (FuzzSharedDecoder
// checks this).
//
// A sharedDecoder is not safe for concurrent use.
type sharedDecoder struct {
	parts map[dataSum]*sharedPart // by the sum of the payload's bytes before its node
	pool  *mapPool                // interns metadata maps; nil: none
}

// sharedPart is a decoded service-level part.
type sharedPart struct {
	svc *Service // without nodes
}

// decode returns what decodeNode(data) returns.
func (d *sharedDecoder) decode(data []byte) (*Service, error) {
	head, node, err := d.decodeParts(data)
	if err != nil {
		return nil, err
	}
	return &Service{Name: head.Name, Version: head.Version, Metadata: head.Metadata, Endpoints: head.Endpoints, Nodes: []*Node{&node}}, nil
}

// decodeParts returns what decodeNode(data) returns as its service-level
// fields (head, without nodes: one value for every payload with the same
// service part) and its node.
func (d *sharedDecoder) decodeParts(data []byte) (*Service, Node, error) {
	headBytes, nodeBytes, split := splitPayload(data)
	if split {
		if part := d.parts[sumOf(headBytes)]; part != nil {
			if n, ok := decodeNodePart(nodeBytes); ok {
				n.Metadata = d.pool.intern(n.Metadata)
				return part.svc, n, nil
			}
		}
	}
	s, err := decodeNode(data)
	if err != nil {
		return nil, Node{}, err
	}
	head := &Service{Name: s.Name, Version: s.Version, Metadata: d.pool.intern(s.Metadata), Endpoints: s.Endpoints}
	for _, e := range head.Endpoints {
		e.Metadata = d.pool.intern(e.Metadata)
	}
	if split && sharable(headBytes) {
		if d.parts == nil || len(d.parts) >= maxSharedParts {
			d.parts = make(map[dataSum]*sharedPart)
		}
		d.parts[sumOf(headBytes)] = &sharedPart{svc: head}
	}
	node := *s.Nodes[0]
	node.Metadata = d.pool.intern(node.Metadata)
	return head, node, nil
}

// decodeNodePart decodes the node part of a payload (what lies between
// its `"nodes":[` and the closing "]}") as decodeNode decodes the one node
// of a payload: one JSON object with a non-empty id. It reports false for
// anything else, for the caller to decode the whole payload, which says
// why it is not a registration.
func decodeNodePart(b []byte) (Node, bool) {
	var n Node
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return n, false
	}
	if err := json.Unmarshal(b, &n); err != nil || n.Id == "" {
		return Node{}, false
	}
	return n, true
}

// splitPayload splits a payload into its service-level head, up to and
// including the first `"nodes":[`, and what lies between that and the
// closing "]}".
func splitPayload(data []byte) (head, node []byte, ok bool) {
	data = bytes.TrimSpace(data)
	i := bytes.Index(data, []byte(nodesKey))
	if i < 0 {
		return nil, nil, false
	}
	head, rest := data[:i+len(nodesKey)], data[i+len(nodesKey):]
	rest, ok = bytes.CutSuffix(rest, []byte("}"))
	if !ok {
		return nil, nil, false
	}
	rest, ok = bytes.CutSuffix(bytes.TrimRight(rest, " \t\r\n"), []byte("]"))
	if !ok {
		return nil, nil, false
	}
	return head, rest, true
}

// sharable reports whether head, from a payload decodeNode accepted, can be
// shared: ASCII without backslashes (no escaped or case-folded keys), the
// only key that could set the node list is its last one, and "]}" closes
// it into a whole JSON object, so that key is at the top level.
func sharable(head []byte) bool {
	for _, c := range head {
		if c >= 0x80 || c == '\\' {
			return false
		}
	}
	if bytes.Count(bytes.ToLower(head), []byte("nodes")) != 1 {
		return false
	}
	return json.Valid(append(head[:len(head):len(head)], ']', '}'))
}
