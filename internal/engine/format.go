package engine

import "fmt"

// format is one layout the registry keeps nodes in and reads them from,
// with its codec: ours (layout.go, payload.go), always, and Apache
// Curator's service discovery (curator.go), when the options ask for it.
// An owner and a mirror each work in one format; the registry runs one of
// each per format and merges what its mirrors answer.
type format struct {
	// name says which, in messages: "registry" or "curator".
	name string
	// layout returns the format's paths for cfg, ok false when cfg does
	// not use the format.
	layout func(cfg Config) (layout, bool)
	// ref returns the ref of node id of the service called name, or why
	// the format cannot store it.
	ref func(name, id string) (nodeRef, error)
	// dir returns the directory of the service called name, false when the
	// format cannot hold it.
	dir func(name string) (dirRef, bool)
	// decoder returns a decoder of node data for one service directory,
	// interning metadata maps in pool (nil: none).
	decoder func(pool *mapPool) nodeDecoder
}

// nodeDecoder decodes the data of the node znode at ref: a registration,
// as its service-level fields (head, without nodes; the decoder may share
// it between nodes of one version) and its node, or an error saying why it
// is not one (readers skip and log it). It is used by one goroutine at a
// time.
type nodeDecoder interface {
	decode(ref nodeRef, data []byte) (head *Service, node Node, err error)
}

// microFormat is ours: the older plugin's layout and payload.
var microFormat = &format{
	name:   "registry",
	layout: func(cfg Config) (layout, bool) { return cfg.layout, true },
	ref:    func(name, id string) (nodeRef, error) { return refOf(name, id), nil },
	dir:    func(name string) (dirRef, bool) { return EscapeSegment(name), true },
	decoder: func(pool *mapPool) nodeDecoder {
		return &microDecoder{sharedDecoder{pool: pool}}
	},
}

// microDecoder decodes our payloads, sharing the service-level parts of a
// version's nodes (sharedDecoder).
type microDecoder struct{ sharedDecoder }

func (d *microDecoder) decode(_ nodeRef, data []byte) (*Service, Node, error) {
	return d.sharedDecoder.decodeParts(data)
}

// curatorFormat is Apache Curator's service discovery (curator.go).
var curatorFormat = &format{
	name: "curator",
	layout: func(cfg Config) (layout, bool) {
		if cfg.curatorBase == "" {
			return layout{}, false
		}
		return layout{root: cfg.chroot + cfg.curatorBase}, true
	},
	ref: curatorRef,
	dir: func(name string) (dirRef, bool) {
		return name, checkCuratorSegment("service name", name) == nil
	},
	decoder: func(pool *mapPool) nodeDecoder { return curatorDecoder{pool} },
}

// curatorDecoder decodes Curator service instances. An instance a go-micro
// registry published (curator.origin "go-micro") is left out: that
// registry registered the same node in our layout, where it is read.
type curatorDecoder struct{ pool *mapPool }

func (d curatorDecoder) decode(ref nodeRef, data []byte) (*Service, Node, error) {
	s, err := decodeCuratorInstance(data)
	if err != nil {
		return nil, Node{}, err
	}
	if err := matchCuratorRef(ref, s); err != nil {
		return nil, Node{}, err
	}
	if s.Nodes[0].Metadata[MetaCuratorOrigin] == CuratorOriginGoMicro {
		return nil, Node{}, errPublishedHere
	}
	node := *s.Nodes[0]
	node.Metadata = d.pool.intern(node.Metadata)
	return &Service{Name: s.Name, Version: s.Version, Metadata: d.pool.intern(s.Metadata), Endpoints: s.Endpoints}, node, nil
}

// errPublishedHere marks a Curator instance a go-micro registry published:
// not a registration to show twice. Readers skip it without logging.
var errPublishedHere = fmt.Errorf("%w: published by a go-micro registry, read from its own layout", errInvalidPayload)
