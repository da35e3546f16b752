package engine

// The one place where the integration tests (the *_zk_test.go files) look
// inside a Registry or a Watcher. Every other line of those tests uses the
// exported API only; when the engine's internals change, these helpers are
// what to adapt.

// peekSessionID returns the id of r's current session, 0 while there is
// none. Unlike Session, it never waits.
func peekSessionID(r *Registry) int64 { return r.client.sessionID() }

// peekDialed reports whether r has a connection.
func peekDialed(r *Registry) bool {
	c, _ := r.client.current()
	return c != nil
}

// peekRegistered returns the number of nodes r keeps registered, written
// or waiting to be.
func peekRegistered(r *Registry) int { return r.owner.count() }

// peekConfirmed reports whether r's owner has seen node id of service
// ours, with its data and watched, in the current session.
func peekConfirmed(r *Registry, service, id string) bool {
	o := r.owner
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.nodes[refOf(service, id).key()]
	return n != nil && !n.removed && n.confirmed != 0
}

// forgetConfirmed makes r's owner forget that node id of service is
// confirmed, as if a watch event had arrived and not been handled yet.
func forgetConfirmed(r *Registry, service, id string) {
	o := r.owner
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := o.nodes[refOf(service, id).key()]; n != nil {
		n.confirmed = 0
	}
}

// peekMirrored returns the nodes r's mirror holds for service, each as a
// one-node Service (read-only), and whether the service is mirrored.
func peekMirrored(r *Registry, service string) ([]*Service, bool) {
	m := r.mirror
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.services[EscapeSegment(service)]
	if e == nil {
		return nil, false
	}
	var out []*Service
	for _, n := range e.nodes {
		if n.registration() {
			out = append(out, n.service())
		}
	}
	return out, true
}

// peekMirrorsListing reports whether r's mirror keeps the list of
// services.
func peekMirrorsListing(r *Registry) bool {
	r.mirror.mu.Lock()
	defer r.mirror.mu.Unlock()
	return r.mirror.all != nil
}
