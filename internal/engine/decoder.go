package engine

import (
	"bytes"
	"encoding/json"
	"maps"
)

// nodesKey starts the node list of a payload; encodeNode (like the old
// plugin) writes it last, after the service-level fields.
const nodesKey = `"nodes":[`

// nodeOnlyHead wraps the node of a payload into a payload of its own, so
// that decodeNode validates the node exactly as it does in a full payload.
const nodeOnlyHead = `{"name":"-","nodes":[`

// maxSharedParts bounds the service-level parts a sharedDecoder keeps; it
// starts afresh when it would hold more.
const maxSharedParts = 16

// sharedDecoder decodes node payloads exactly as decodeNode does, but
// decodes the service-level part of a payload (name, version, metadata,
// endpoints: everything before the node) once for all payloads that carry
// the same bytes there, which the nodes of one version of a service do.
// Decoding such a payload then decodes only its node, and the services
// returned share one Metadata map and one Endpoints slice, and their nodes
// one Metadata map when it is equal (go-micro gives every node of a service
// the same): they must be treated as read-only, like everything the mirror
// holds.
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
	parts map[string]*sharedPart // by the payload's bytes before its node
}

// sharedPart is a decoded service-level part and the metadata of the last
// node decoded after it.
type sharedPart struct {
	svc      *Service // without nodes
	nodeMeta map[string]string
}

// decode returns what decodeNode(data) returns.
func (d *sharedDecoder) decode(data []byte) (*Service, error) {
	head, node, split := splitPayload(data)
	if split {
		if part := d.parts[string(head)]; part != nil {
			if n, err := decodeNode(nodeOnly(node)); err == nil {
				part.shareNodeMeta(n.Nodes[0])
				return &Service{
					Name:      part.svc.Name,
					Version:   part.svc.Version,
					Metadata:  part.svc.Metadata,
					Endpoints: part.svc.Endpoints,
					Nodes:     n.Nodes,
				}, nil
			}
		}
	}
	s, err := decodeNode(data)
	if err != nil {
		return nil, err
	}
	if split && sharable(head) {
		if d.parts == nil || len(d.parts) >= maxSharedParts {
			d.parts = make(map[string]*sharedPart)
		}
		d.parts[string(head)] = &sharedPart{
			svc:      &Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Endpoints: s.Endpoints},
			nodeMeta: s.Nodes[0].Metadata,
		}
	}
	return s, nil
}

// shareNodeMeta gives n the metadata map of the previous node when they are
// equal, and remembers n's otherwise. Nil and empty maps are not shared:
// they decode from different payloads.
func (p *sharedPart) shareNodeMeta(n *Node) {
	switch {
	case n.Metadata == nil:
	case p.nodeMeta != nil && maps.Equal(n.Metadata, p.nodeMeta):
		n.Metadata = p.nodeMeta
	default:
		p.nodeMeta = n.Metadata
	}
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

// nodeOnly returns the payload of a service named "-" with node.
func nodeOnly(node []byte) []byte {
	b := make([]byte, 0, len(nodeOnlyHead)+len(node)+2)
	b = append(b, nodeOnlyHead...)
	b = append(b, node...)
	return append(b, ']', '}')
}
