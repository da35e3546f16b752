package engine

// This file is a read-only window on a Registry's state, for tests and
// diagnostics (and one hook for a test of re-registration).

// SessionID returns the id of the registry's current session, 0 if none.
func (r *Registry) SessionID() int64 { return r.client.sessionID() }

// Dialed reports whether the registry has a connection.
func (r *Registry) Dialed() bool {
	c, _ := r.client.current()
	return c != nil
}

// Registered returns the number of nodes the registry keeps registered.
func (r *Registry) Registered() int { return r.owner.count() }

// Confirmed reports whether node id of service was seen ours, with its
// data and watched, in the current session.
func (r *Registry) Confirmed(service, id string) bool {
	o := r.owner
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.nodes[refOf(service, id).key()]
	return n != nil && !n.removed && n.confirmed != 0
}

// Unconfirm makes the owner forget that node id of service is confirmed,
// as if a watch event had just arrived and not been handled yet.
func (r *Registry) Unconfirm(service, id string) {
	o := r.owner
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := o.nodes[refOf(service, id).key()]; n != nil {
		n.confirmed = 0
	}
}

// Mirrored returns the nodes the mirror holds for service, each as a
// one-node Service (read-only), and whether the service is mirrored.
func (r *Registry) Mirrored(service string) ([]*Service, bool) {
	m := r.mirror
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.services[EscapeSegment(service)]
	if e == nil {
		return nil, false
	}
	var out []*Service
	for _, n := range e.nodes {
		if n.svc != nil {
			out = append(out, n.svc)
		}
	}
	return out, true
}

// MirrorsListing reports whether the mirror keeps the list of services.
func (r *Registry) MirrorsListing() bool {
	r.mirror.mu.Lock()
	defer r.mirror.mu.Unlock()
	return r.mirror.all != nil
}

// TryNext returns the watcher's next change if there is one now, without
// waiting.
func (w *Watcher) TryNext() (Event, bool) {
	select {
	case <-w.stop:
		return Event{}, false
	default:
	}
	return w.advance()
}
