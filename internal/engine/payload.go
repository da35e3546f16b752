package engine

// This file defines what the registry stores in a node znode. It is a
// compatibility contract: plugins of other versions, and the older
// github.com/go-micro/plugins/v4/registry/zookeeper, read and write the
// same data, so a fleet can mix them during a migration (the paths are in
// layout.go).
//
// The data of a node znode is the JSON encoding (encoding/json) of a
// Service (field for field go-micro's registry.Service) that carries the
// service's name, version, metadata and endpoints, and exactly one node:
// the node the znode stands for.
//
//	{"name":"greeter","version":"1.0.0","metadata":{...},"endpoints":[...],
//	 "nodes":[{"metadata":{...},"id":"greeter-1b4e...","address":"10.0.0.7:4100"}]}
//
// Readers take the service name, version and node id from the payload, not
// from the path. A znode whose data does not decode to such a service is
// not a registration: readers skip it (and log it) and never fail because
// of it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"
)

// MaxRequestBytes bounds the size of a write the engine's faces send.
// ZooKeeper drops the connection of a client whose request exceeds its
// jute.maxbuffer (1 MiB less one byte by default); the request's framing
// needs a little of that room, which the margin leaves.
const MaxRequestBytes = 1<<20 - 16<<10

// maxRequestBytes is MaxRequestBytes, for the registry's own writes.
const maxRequestBytes = MaxRequestBytes

// errInvalidPayload marks znode data that is not a registration.
var errInvalidPayload = errors.New("not a service registration")

// encodeNode returns the payload stored for one node of s: s's name,
// version, metadata and endpoints with exactly that node. The bytes are
// those the older plugin writes for the same input.
func encodeNode(s *Service, n *Node) ([]byte, error) {
	one := Service{
		Name:      s.Name,
		Version:   s.Version,
		Metadata:  s.Metadata,
		Endpoints: s.Endpoints,
		Nodes:     []*Node{n},
	}
	b, err := json.Marshal(&one)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	// Refuse what no reader could decode (encoding/json reads at most
	// 10,000 levels of nesting but writes any).
	if _, err := decodeNode(b); err != nil {
		return nil, fmt.Errorf("the payload could not be read back: %w", err)
	}
	return b, nil
}

// decodeNode parses znode data written by encodeNode (or by the older
// plugin). It accepts only a JSON object naming a service and holding
// exactly one node with a non-empty id; anything else is errInvalidPayload.
func decodeNode(data []byte) (*Service, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errInvalidPayload)
	}
	var s Service
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
	// A null endpoint carries nothing, and copy helpers such as go-micro's
	// util/registry.CopyService dereference each endpoint: drop them.
	s.Endpoints = slices.DeleteFunc(s.Endpoints, func(e *Endpoint) bool { return e == nil })
	return &s, nil
}

// validateService checks what Register and Deregister need from s before
// anything is sent to ZooKeeper.
func validateService(s *Service) error {
	switch {
	case s == nil:
		return errors.New("service is nil")
	case s.Name == "":
		return errors.New("service name is empty")
	case !utf8.ValidString(s.Name):
		return fmt.Errorf("service name %s is not valid UTF-8", quoteShort(s.Name))
	case len(s.Nodes) == 0:
		return fmt.Errorf("service %s has no nodes", quoteShort(s.Name))
	}
	seen := make(map[string]bool, len(s.Nodes))
	for i, n := range s.Nodes {
		switch {
		case n == nil:
			return fmt.Errorf("service %s: node %d is nil", quoteShort(s.Name), i)
		case n.Id == "":
			return fmt.Errorf("service %s: node %d has an empty id", quoteShort(s.Name), i)
		case !utf8.ValidString(n.Id):
			return fmt.Errorf("service %s: node id %s is not valid UTF-8", quoteShort(s.Name), quoteShort(n.Id))
		case seen[n.Id]:
			return fmt.Errorf("service %s: node id %s appears twice", quoteShort(s.Name), quoteShort(n.Id))
		}
		seen[n.Id] = true
	}
	for i, e := range s.Endpoints {
		if e == nil {
			return fmt.Errorf("service %s: endpoint %d is nil", quoteShort(s.Name), i)
		}
	}
	return nil
}

// validateText checks that every string of s that Register stores is
// UTF-8: encoding/json would store U+FFFD instead, and the registration
// read back would differ from the one registered.
func validateText(s *Service) error {
	bad := func(what, v string) error {
		return fmt.Errorf("service %s: %s %s is not valid UTF-8", quoteShort(s.Name), what, quoteShort(v))
	}
	meta := func(what string, m map[string]string) error {
		for k, v := range m {
			if !utf8.ValidString(k) {
				return bad(what+" key", k)
			}
			if !utf8.ValidString(v) {
				return bad(what+" value of "+quoteShort(k), v)
			}
		}
		return nil
	}
	var value func(v *Value) error
	value = func(v *Value) error {
		if v == nil {
			return nil
		}
		if !utf8.ValidString(v.Name) || !utf8.ValidString(v.Type) {
			return bad("endpoint value", v.Name+" "+v.Type)
		}
		for _, c := range v.Values {
			if err := value(c); err != nil {
				return err
			}
		}
		return nil
	}
	if !utf8.ValidString(s.Version) {
		return bad("version", s.Version)
	}
	if err := meta("metadata", s.Metadata); err != nil {
		return err
	}
	for _, e := range s.Endpoints {
		if !utf8.ValidString(e.Name) {
			return bad("endpoint name", e.Name)
		}
		if err := meta("endpoint metadata", e.Metadata); err != nil {
			return err
		}
		if err := value(e.Request); err != nil {
			return err
		}
		if err := value(e.Response); err != nil {
			return err
		}
	}
	for _, n := range s.Nodes {
		if !utf8.ValidString(n.Address) {
			return bad("node address", n.Address)
		}
		if err := meta("node metadata", n.Metadata); err != nil {
			return err
		}
	}
	return nil
}

// checkRequestSize refuses a node whose largest write (the atomic replace
// of a predecessor's znode: a delete and a create of p in one request)
// would exceed what ZooKeeper accepts.
func checkRequestSize(p string, data []byte, acl []zk.ACL) error {
	if size := requestSize(p, len(data), acl); size > maxRequestBytes {
		return fmt.Errorf("the payload (%d bytes) with the path (%d bytes) makes a %d-byte request, over the %d-byte limit of a ZooKeeper request", len(data), len(p), size, maxRequestBytes)
	}
	return nil
}

// requestSize is the size of the replace request for a payload of n bytes
// at p with acl, less the fixed framing the limit's margin covers.
func requestSize(p string, n int, acl []zk.ACL) int {
	size := 2*(4+len(p)) + 4 + n + 4
	for _, a := range acl {
		size += 4 + 4 + len(a.Scheme) + 4 + len(a.ID)
	}
	return size
}

// MaxPayload returns the largest payload Register accepts for a node
// znode at p whose ACL is acl.
func MaxPayload(p string, acl []zk.ACL) int {
	return maxRequestBytes - requestSize(p, 0, acl)
}
