package zookeeper

// This file converts between go-micro's registry types and the engine's.
// The engine stores the JSON of its Service type, field for field
// go-micro's registry.Service, which both go-micro lines define alike: so
// this module's two faces store the very same bytes. That JSON, and the
// znode layout, are the compatibility contract between the two faces and
// with the older github.com/go-micro/plugins/v4/registry/zookeeper,
// documented in internal/engine/layout.go and internal/engine/payload.go.
//
// What a caller passes in stays the caller's: toEngine copies the structs
// but shares the caller's metadata maps with the engine, which only reads
// them while it encodes the payload, during the call. What a call returns
// belongs to its caller (maps, endpoints and their values included), as
// with go-micro's memory registry: fromEngine copies everything, since the
// engine's values are shared with its mirror; a version's endpoints are
// copied once per call, whatever the number of its nodes.

import (
	"maps"

	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// toEngine converts s into the engine's type for one call, sharing its
// metadata maps; nil stays nil.
func toEngine(s *registry.Service) *engine.Service {
	if s == nil {
		return nil
	}
	out := &engine.Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Nodes: make([]*engine.Node, len(s.Nodes))}
	if s.Endpoints != nil {
		out.Endpoints = make([]*engine.Endpoint, len(s.Endpoints))
		for i, e := range s.Endpoints {
			if e != nil {
				out.Endpoints[i] = &engine.Endpoint{Name: e.Name, Metadata: e.Metadata, Request: toEngineValue(e.Request), Response: toEngineValue(e.Response)}
			}
		}
	}
	for i, n := range s.Nodes {
		if n != nil {
			out.Nodes[i] = &engine.Node{Id: n.Id, Address: n.Address, Metadata: n.Metadata}
		}
	}
	return out
}

func toEngineValue(v *registry.Value) *engine.Value {
	if v == nil {
		return nil
	}
	out := &engine.Value{Name: v.Name, Type: v.Type}
	if v.Values != nil {
		out.Values = make([]*engine.Value, len(v.Values))
		for i, c := range v.Values {
			out.Values[i] = toEngineValue(c)
		}
	}
	return out
}

// fromEngine returns deep copies of svcs in go-micro's type.
func fromEngine(svcs []*engine.Service) []*registry.Service {
	out := make([]*registry.Service, len(svcs))
	for i, s := range svcs {
		out[i] = fromEngineService(s)
	}
	return out
}

// fromEngineService returns a deep copy of s in go-micro's type.
func fromEngineService(s *engine.Service) *registry.Service {
	out := &registry.Service{Name: s.Name, Version: s.Version, Metadata: maps.Clone(s.Metadata)}
	if s.Endpoints != nil {
		out.Endpoints = make([]*registry.Endpoint, len(s.Endpoints))
		for i, e := range s.Endpoints {
			if e != nil {
				out.Endpoints[i] = &registry.Endpoint{Name: e.Name, Metadata: maps.Clone(e.Metadata), Request: fromEngineValue(e.Request), Response: fromEngineValue(e.Response)}
			}
		}
	}
	if s.Nodes != nil {
		nodes := make([]registry.Node, len(s.Nodes)) // one allocation for all nodes
		out.Nodes = make([]*registry.Node, len(s.Nodes))
		for i, n := range s.Nodes {
			if n != nil {
				nodes[i] = registry.Node{Id: n.Id, Address: n.Address, Metadata: maps.Clone(n.Metadata)}
				out.Nodes[i] = &nodes[i]
			}
		}
	}
	return out
}

func fromEngineValue(v *engine.Value) *registry.Value {
	if v == nil {
		return nil
	}
	out := &registry.Value{Name: v.Name, Type: v.Type}
	if v.Values != nil {
		out.Values = make([]*registry.Value, len(v.Values))
		for i, c := range v.Values {
			out.Values[i] = fromEngineValue(c)
		}
	}
	return out
}
