package engine

import (
	"hash/maphash"
	"maps"
	"sync"
)

// maxPooledMaps bounds the distinct maps a mapPool keeps.
const maxPooledMaps = 4096

// mapPool interns string maps by content, for a mirror: the nodes of a
// fleet carry the same few metadata maps (go-micro gives every node the
// same "broker", "protocol", "registry", "server" and "transport"), and
// services the same few, so that a mirror of 100,000 nodes holds a handful
// of maps instead of 100,000. What it returns is shared: read-only, as
// everything the mirror holds. Safe for concurrent use (the mirror's
// workers decode at once).
type mapPool struct {
	seed maphash.Seed

	mu    sync.Mutex // guards maps, count
	maps  map[uint64][]map[string]string
	count int
}

func newMapPool() *mapPool {
	return &mapPool{seed: maphash.MakeSeed(), maps: map[uint64][]map[string]string{}}
}

// intern returns a map of the pool equal to m, or m itself, which the pool
// keeps while it has room. nil stays nil, and an empty map is not pooled:
// they decode from different payloads.
func (p *mapPool) intern(m map[string]string) map[string]string {
	if p == nil || len(m) == 0 {
		return m
	}
	h := p.hash(m)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.maps[h] {
		if maps.Equal(c, m) {
			return c
		}
	}
	if p.count < maxPooledMaps {
		p.maps[h] = append(p.maps[h], m)
		p.count++
	}
	return m
}

// hash is an order-independent hash of m's entries.
func (p *mapPool) hash(m map[string]string) uint64 {
	var sum uint64
	for k, v := range m {
		sum += maphash.String(p.seed, k)*31 ^ maphash.String(p.seed, v)
	}
	return sum ^ uint64(len(m))
}
