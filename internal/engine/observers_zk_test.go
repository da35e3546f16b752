package engine

// Observers for the integration tests: what ZooKeeper itself holds, read
// over a plain connection (truth), and watchers followed in the background
// (watchLog), each as a nodeView to compare. A watcher "loses an event"
// when its view ends up different from ZooKeeper, or when an event
// contradicts its view.

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// nodeView maps "<service>/<node-id>" to the node's payload.
type nodeView map[string]string

// viewKey names a one-node service in a nodeView.
func viewKey(s *Service) string { return s.Name + "/" + s.Nodes[0].Id }

// canonical renders a one-node service for comparison: as stored, except
// that no endpoints is always null.
func canonical(s *Service) string {
	c := *s
	if len(c.Endpoints) == 0 {
		c.Endpoints = nil
	}
	b, err := oldPluginPayload(&c, c.Nodes[0])
	if err != nil {
		return "unencodable: " + err.Error()
	}
	return string(b)
}

// diff describes how got differs from want, "" when they are equal.
func (want nodeView) diff(got nodeView) string {
	var d []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			d = append(d, "missing "+k)
		case g != v:
			d = append(d, "stale "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "extra "+k)
		}
	}
	sort.Strings(d)
	return strings.Join(d, ", ")
}

// decodeRegistration parses znode data as a registration the way the
// contract (payload.go) defines one, independently of the engine's
// decoder: a JSON service with a name and exactly one node with an id.
func decodeRegistration(data []byte) (*Service, error) {
	var s Service
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if s.Name == "" || len(s.Nodes) != 1 || s.Nodes[0] == nil || s.Nodes[0].Id == "" {
		return nil, fmt.Errorf("not a registration: %q", data)
	}
	return &s, nil
}

// truth reads the registrations under root straight from ZooKeeper, of one
// service or, when service is "", of all. Znodes that are not registrations
// are left out, as readers skip them.
func truth(raw *zk.Conn, root, service string) (nodeView, error) {
	dirs := []string{EscapeSegment(service)}
	if service == "" {
		var err error
		if dirs, _, err = raw.Children(root); errors.Is(err, zk.ErrNoNode) {
			return nodeView{}, nil
		} else if err != nil {
			return nil, err
		}
	}
	v := nodeView{}
	for _, dir := range dirs {
		children, _, err := raw.Children(root + "/" + dir)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, c := range children {
			data, _, err := raw.Get(root + "/" + dir + "/" + c)
			if errors.Is(err, zk.ErrNoNode) {
				continue
			} else if err != nil {
				return nil, err
			}
			if s, err := decodeRegistration(data); err == nil {
				v[viewKey(s)] = canonical(s)
			}
		}
	}
	return v, nil
}

// mustTruth is truth that fails t on error.
func mustTruth(t testing.TB, raw *zk.Conn, root, service string) nodeView {
	t.Helper()
	v, err := truth(raw, root, service)
	require.NoError(t, err)
	return v
}

// servicesView flattens services (as GetService or ListServices return
// them) into a nodeView.
func servicesView(svcs []*Service) nodeView {
	v := nodeView{}
	for _, s := range svcs {
		for _, n := range s.Nodes {
			one := &Service{Name: s.Name, Version: s.Version, Metadata: s.Metadata, Endpoints: s.Endpoints, Nodes: []*Node{n}}
			v[viewKey(one)] = canonical(one)
		}
	}
	return v
}

// filterView returns the part of v that belongs to service.
func filterView(v nodeView, service string) nodeView {
	out := nodeView{}
	for k, d := range v {
		if strings.HasPrefix(k, service+"/") {
			out[k] = d
		}
	}
	return out
}

// mirrorView returns what r's mirror holds for service, as a nodeView.
func mirrorView(r *Registry, service string) nodeView {
	v := nodeView{}
	nodes, _ := peekMirrored(r, service)
	for _, s := range nodes {
		v[viewKey(s)] = canonical(s)
	}
	return v
}

// watchEvent is one change a watcher reported.
type watchEvent struct {
	action string
	key    string
}

func (e watchEvent) String() string { return e.action + " " + e.key }

// watchLog consumes a watcher in the background and keeps the view its
// events imply, every event, and every event that contradicts the view (a
// create of a node already there, an update or delete of one that is not,
// a delete that does not carry the last reported node).
type watchLog struct {
	w    *Watcher
	done chan struct{}

	mu     sync.Mutex // guards the fields below
	view   nodeView
	events []watchEvent
	bad    []string
}

// followWatcher starts consuming w, whose starting point is initial. The
// watcher is stopped when t ends.
func followWatcher(t testing.TB, w *Watcher, initial nodeView) *watchLog {
	l := &watchLog{w: w, done: make(chan struct{}), view: nodeView{}}
	for k, v := range initial {
		l.view[k] = v
	}
	go l.run()
	t.Cleanup(l.stop)
	return l
}

func (l *watchLog) run() {
	defer close(l.done)
	for {
		e, err := l.w.Next()
		if err != nil {
			return
		}
		data := canonical(e.Service)
		k := viewKey(e.Service)
		l.mu.Lock()
		prev, had := l.view[k]
		switch e.Action {
		case ActionCreate:
			if had {
				l.bad = append(l.bad, "create of known "+k)
			}
			l.view[k] = data
		case ActionUpdate:
			if !had {
				l.bad = append(l.bad, "update of unknown "+k)
			}
			l.view[k] = data
		case ActionDelete:
			if !had {
				l.bad = append(l.bad, "delete of unknown "+k)
			} else if prev != data {
				l.bad = append(l.bad, "delete of "+k+" does not carry the last reported node")
			}
			delete(l.view, k)
		default:
			l.bad = append(l.bad, "unknown action "+e.Action)
		}
		l.events = append(l.events, watchEvent{e.Action, k})
		l.mu.Unlock()
	}
}

func (l *watchLog) stop() {
	l.w.Stop()
	<-l.done
}

// snapshot returns the view, the number of events so far and the
// contradictions seen.
func (l *watchLog) snapshot() (nodeView, int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := make(nodeView, len(l.view))
	for k, d := range l.view {
		v[k] = d
	}
	return v, len(l.events), slices.Clone(l.bad)
}

// eventsSince returns the events after the first n.
func (l *watchLog) eventsSince(n int) []watchEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events[n:])
}

// converge waits up to d for the watcher's view to equal want, and fails t
// if it does not or if the watcher ever contradicted itself.
func (l *watchLog) converge(t testing.TB, want nodeView, d time.Duration, name string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(d)
	for {
		got, _, bad := l.snapshot()
		require.Empty(t, bad, "%s: inconsistent events", name)
		if last = want.diff(got); last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: view differs from ZooKeeper after %v: %s", name, d, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quiet fails t if the watcher reports more than n events in total within
// d (checked at once, then until d has passed).
func (l *watchLog) quiet(t testing.TB, n int, d time.Duration, name string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, got, bad := l.snapshot()
		require.Empty(t, bad, "%s: inconsistent events", name)
		if got > n {
			t.Fatalf("%s: unexpected watch events %v", name, l.eventsSince(n))
		}
		if !time.Now().Before(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventStrings renders events sorted, for comparing as a set.
func eventStrings(evs []watchEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.String()
	}
	sort.Strings(out)
	return out
}

// waitConfirmed waits until the registry has verified and watched each
// node of s in its current session.
func waitConfirmed(t testing.TB, r *Registry, s *Service) {
	t.Helper()
	for _, n := range s.Nodes {
		zktest.Eventually(t, 10*time.Second, func() bool { return peekConfirmed(r, s.Name, n.Id) }, "node %s/%s never confirmed", s.Name, n.Id)
	}
}

// nodeStats returns the stat of each node of s, by node id.
func nodeStats(t testing.TB, raw *zk.Conn, root string, s *Service) map[string]*zk.Stat {
	t.Helper()
	out := map[string]*zk.Stat{}
	for _, n := range s.Nodes {
		_, st, err := raw.Get(path.Join(root, EscapeSegment(s.Name), EscapeSegment(n.Id)))
		require.NoError(t, err, "node %s", n.Id)
		out[n.Id] = st
	}
	return out
}

// absentFor fails t if any of the nodes exists in ZooKeeper at any check
// during d.
func absentFor(t testing.TB, raw *zk.Conn, root, service string, nodes []string, d time.Duration, why string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, id := range nodes {
			ok, _, err := raw.Exists(root + "/" + EscapeSegment(service) + "/" + EscapeSegment(id))
			require.NoError(t, err)
			require.False(t, ok, "%s: deregistered node %s exists", why, id)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
