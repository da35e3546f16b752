package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"
)

// This file is the node metadata the registry changes by itself, beside
// what its caller registers: the soft load balancing conventions (a
// compatibility contract, like the payload: any client may read them,
// kazoo included), and the edits of an operator that the registry adopts.

// Node metadata keys of the soft load balancing conventions.
const (
	// MetaLoad is how busy a node is: a non-negative decimal, lower is
	// less busy (a server publishes the requests it is handling).
	MetaLoad = "load"
	// MetaWeight is a node's share of traffic relative to the others: a
	// positive decimal, 1 when absent.
	MetaWeight = "weight"
	// MetaStatus is a node's status; StatusDraining means: send it no new
	// requests. Any other value, or none, means it serves.
	MetaStatus = "status"
	// StatusDraining is the MetaStatus of a node that takes no new
	// requests (zkmicro drain, or a server stopping gracefully).
	StatusDraining = "draining"
)

// nodeMeta keeps the node metadata set with SetNodeMetadata, which
// overrides what Register is given for the same keys, until set again,
// and the last registration of each node as given (its base), from which
// SetNodeMetadata makes the node's payload again.
type nodeMeta struct {
	mu        sync.Mutex                   // guards the fields below
	overrides map[string]map[string]string // by node key (nodeRef.key)
	bases     map[string][]byte            // by node key: the payload without overrides
	firsts    map[string]time.Time         // by node key: when it was first registered
}

// registered records the payload of node id of service as Register was
// given it, at now: its first registration if it has none.
func (m *nodeMeta) registered(service, id string, base []byte, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bases == nil {
		m.bases, m.firsts = map[string][]byte{}, map[string]time.Time{}
	}
	key := refOf(service, id).key()
	m.bases[key] = base
	if _, ok := m.firsts[key]; !ok {
		m.firsts[key] = now
	}
}

// since returns when node id of service was first registered (since its
// last Deregister), or now if it is not.
func (m *nodeMeta) since(service, id string, now time.Time) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.firsts[refOf(service, id).key()]; ok {
		return t
	}
	return now
}

// base returns the registration of node id of service as Register was last
// given it (decoded, one node), if any.
func (m *nodeMeta) base(service, id string) (*Service, bool) {
	m.mu.Lock()
	data := m.bases[refOf(service, id).key()]
	m.mu.Unlock()
	if data == nil {
		return nil, false
	}
	s, err := decodeNode(data)
	return s, err == nil
}

// apply returns n with the overrides of node id of service, or n itself
// when it has none.
func (m *nodeMeta) apply(service string, n *Node) *Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.overrides[refOf(service, n.Id).key()]
	if len(o) == 0 {
		return n
	}
	md := maps.Clone(n.Metadata)
	if md == nil {
		md = make(map[string]string, len(o))
	}
	maps.Copy(md, o)
	return &Node{Id: n.Id, Address: n.Address, Metadata: md}
}

// set records overrides for node id of service: a key with value "" has
// none, and the registered value (if any) applies again.
func (m *nodeMeta) set(service, id string, md map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := refOf(service, id).key()
	o := m.overrides[key]
	for k, v := range md {
		if v == "" {
			delete(o, k)
			continue
		}
		if o == nil {
			o = map[string]string{}
			if m.overrides == nil {
				m.overrides = map[string]map[string]string{}
			}
			m.overrides[key] = o
		}
		o[k] = v
	}
	if len(o) == 0 {
		delete(m.overrides, key)
	}
}

// forget drops the overrides and base of node id of service
// (deregistered).
func (m *nodeMeta) forget(service, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := refOf(service, id).key()
	delete(m.overrides, key)
	delete(m.bases, key)
	delete(m.firsts, key)
}

// SetNodeMetadata sets metadata of node id of service, a node this
// registry registers (or will): each key of md overrides what Register is
// given for it, now and at every later Register, until set again; a key
// with the value "" removes the override. When the node is registered, its
// znode is written at once (an unchanged payload costs nothing), through
// the registry's own session; after a session expiry it is restored with
// this metadata. This is how a server publishes its MetaLoad, or its
// MetaStatus when it stops gracefully, at most as often as it calls.
//
// Keys and values must be UTF-8, keys not empty. Errors are prefixed
// "zookeeper: ".
func (r *Registry) SetNodeMetadata(ctx context.Context, service, id string, md map[string]string) error {
	switch {
	case service == "" || id == "":
		return errors.New("zookeeper: set node metadata: service and node id must not be empty")
	case !utf8.ValidString(service) || !utf8.ValidString(id):
		return errors.New("zookeeper: set node metadata: service and node id must be UTF-8")
	}
	for k, v := range md {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("zookeeper: set node metadata of %s/%s: key %s with value %s: keys must be non-empty UTF-8, values UTF-8", quoteShort(service), quoteShort(id), quoteShort(k), quoteShort(v))
		}
	}
	r.meta.set(service, id, md)
	svc, ok := r.meta.base(service, id)
	if !ok {
		return nil // applied when the node is registered
	}
	return r.Register(ctx, svc)
}

// registryEdits is the Registry as its owner's editAdopter: it adopts an
// operator's change of a node's MetaStatus (zkmicro drain and undrain),
// which then overrides the registered metadata as SetNodeMetadata does,
// and restores every other change.
type registryEdits Registry

func (e *registryEdits) adopt(service, id string, wanted, got []byte) ([]byte, bool) {
	w, err := decodeNode(wanted)
	if err != nil {
		return nil, false
	}
	g, err := decodeNode(got)
	if err != nil {
		return nil, false
	}
	status, has := g.Nodes[0].Metadata[MetaStatus]
	if !sameBut(w, g, MetaStatus) {
		return nil, false
	}
	if !has {
		status = ""
	}
	(*Registry)(e).meta.set(service, id, map[string]string{MetaStatus: status})
	return got, true
}

// sameBut reports whether the registrations a and b (one node each) are
// the same but for the node metadata key.
func sameBut(a, b *Service, key string) bool {
	strip := func(s *Service) []byte {
		n := *s.Nodes[0]
		n.Metadata = maps.Clone(n.Metadata)
		delete(n.Metadata, key)
		if len(n.Metadata) == 0 {
			n.Metadata = nil
		}
		data, err := encodeNode(s, &n)
		if err != nil {
			return nil
		}
		return data
	}
	sa, sb := strip(a), strip(b)
	return sa != nil && bytes.Equal(sa, sb)
}

// maxStatusAttempts bounds SetStatus's read-modify-write when the node
// keeps changing underneath.
const maxStatusAttempts = 8

// SetStatus sets the MetaStatus of node id of service to status ("" removes
// it), whoever registered the node: an operator draining a node
// (StatusDraining) or taking it back (""). It rewrites the node's znode at
// the version it read, again if the znode changed meanwhile, and leaves
// every other field as it is; the registry that owns the node adopts the
// new status (it keeps it, even across a session expiry, and restores any
// other change). It needs WRITE on the node's znode: with credentials, the
// registry's default ACL grants that only to the credentials that
// registered the node (see ACL). It returns ErrNotFound when the node does
// not exist, and an error naming the znode when its data is not a
// registration. Errors are prefixed "zookeeper: ".
func (r *Registry) SetStatus(ctx context.Context, service, id, status string) error {
	if service == "" || id == "" || !utf8.ValidString(service) || !utf8.ValidString(id) || !utf8.ValidString(status) {
		return errors.New("zookeeper: set status: service, node id and status must be UTF-8, service and id not empty")
	}
	s, err := r.Session(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := r.begin(ctx)
	defer cancel()
	p := s.cfg.layout.nodePath(service, id)
	for attempt := 0; attempt < maxStatusAttempts; attempt++ {
		data, stat, err := s.get(ctx, p, false)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return ErrNotFound
		case err != nil:
			return fmt.Errorf("zookeeper: set status: %w", describe(s.cfg, opRead, err, p))
		}
		svc, err := decodeNode(data)
		if err != nil {
			return fmt.Errorf("zookeeper: set status: %s: %w", shortPath(p), err)
		}
		n := *svc.Nodes[0]
		n.Metadata = maps.Clone(n.Metadata)
		if status == "" {
			delete(n.Metadata, MetaStatus)
		} else {
			if n.Metadata == nil {
				n.Metadata = map[string]string{}
			}
			n.Metadata[MetaStatus] = status
		}
		payload, err := encodeNode(svc, &n)
		if err != nil {
			return fmt.Errorf("zookeeper: set status: %s: %w", shortPath(p), err)
		}
		if bytes.Equal(payload, data) {
			return nil
		}
		err = s.set(ctx, p, payload, stat.Version)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, zk.ErrBadVersion):
			continue
		case errors.Is(err, zk.ErrNoNode):
			return ErrNotFound
		default:
			return fmt.Errorf("zookeeper: set status: %w", describe(s.cfg, opChange, err, p))
		}
	}
	return fmt.Errorf("zookeeper: set status: %s kept changing under %d attempts", shortPath(p), maxStatusAttempts)
}
