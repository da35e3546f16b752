package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSource is a mirror for a Watcher's unit tests: nodes by ref.
type fakeSource struct {
	mu    sync.Mutex // guards nodes, unsubscribed
	nodes map[nodeRef]*mirroredNode
	unsub int
}

func (s *fakeSource) current(r nodeRef) *mirroredNode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[r]
}

func (s *fakeSource) unsubscribe(*Watcher) {
	s.mu.Lock()
	s.unsub++
	s.mu.Unlock()
}

// set makes node id of svc@version hold data (nil: gone) and tells w.
func (s *fakeSource) set(w *Watcher, svc, version, id, data string) {
	r := nodeRef{EscapeSegment(svc), EscapeSegment(id)}
	s.mu.Lock()
	old := s.nodes[r]
	if data == "" {
		delete(s.nodes, r)
	} else {
		s.nodes[r] = &mirroredNode{
			sum:  sumOf([]byte(version + "/" + data)),
			head: &Service{Name: svc, Version: version},
			node: Node{Id: id, Address: data},
		}
	}
	s.mu.Unlock()
	w.notify(0, r.dir, map[string]*mirroredNode{r.child: old})
}

// drain returns every event ready now, as "action name@version/id=addr".
func drain(w *Watcher) []string {
	var out []string
	for {
		e, ok := w.TryNext()
		if !ok {
			return out
		}
		n := e.Service.Nodes[0]
		out = append(out, e.Action+" "+e.Service.Name+"@"+e.Service.Version+"/"+n.Id+"="+n.Address)
	}
}

func TestWatcherDiff(t *testing.T) {
	tests := []struct {
		name  string
		steps func(s *fakeSource, w *Watcher)
		want  []string
	}{
		{"create", func(s *fakeSource, w *Watcher) { s.set(w, "a", "1", "n1", "x") },
			[]string{"create a@1/n1=x"}},
		{"update", func(s *fakeSource, w *Watcher) {
			s.set(w, "a", "1", "n1", "x")
			drain(w)
			s.set(w, "a", "1", "n1", "y")
		}, []string{"update a@1/n1=y"}},
		{"delete carries the last reported node", func(s *fakeSource, w *Watcher) {
			s.set(w, "a", "1", "n1", "x")
			drain(w)
			s.set(w, "a", "1", "n1", "")
		}, []string{"delete a@1/n1=x"}},
		{"version change is delete then create", func(s *fakeSource, w *Watcher) {
			s.set(w, "a", "1", "n1", "x")
			drain(w)
			s.set(w, "a", "2", "n1", "x")
		}, []string{"delete a@1/n1=x", "create a@2/n1=x"}},
		{"created and deleted before Next: nothing", func(s *fakeSource, w *Watcher) {
			s.set(w, "a", "1", "n1", "x")
			s.set(w, "a", "1", "n1", "")
		}, nil},
		{"gone and back with the same data: nothing", func(s *fakeSource, w *Watcher) {
			s.set(w, "a", "1", "n1", "x")
			drain(w)
			s.set(w, "a", "1", "n1", "")
			s.set(w, "a", "1", "n1", "x")
		}, nil},
		{"bursts coalesce to the latest state", func(s *fakeSource, w *Watcher) {
			s.set(w, "a", "1", "n1", "x")
			drain(w)
			for _, v := range []string{"y1", "y2", "y3"} {
				s.set(w, "a", "1", "n1", v)
			}
		}, []string{"update a@1/n1=y3"}},
		{"one event per node, in order of change", func(s *fakeSource, w *Watcher) {
			s.set(w, "a", "1", "n2", "x")
			s.set(w, "a", "1", "n1", "x")
			s.set(w, "a", "1", "n2", "y")
		}, []string{"create a@1/n2=y", "create a@1/n1=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeSource{nodes: map[nodeRef]*mirroredNode{}}
			w := newWatcher([]watchSource{s}, nil, nil)
			tt.steps(s, w)
			assert.Equal(t, tt.want, drain(w))
			w.Stop()
		})
	}
}

func TestWatcherNextBlocksUntilAChangeAndStops(t *testing.T) {
	s := &fakeSource{nodes: map[nodeRef]*mirroredNode{}}
	w := newWatcher([]watchSource{s}, []dirRef{"a"}, nil)
	got := make(chan Event, 1)
	go func() {
		e, err := w.Next()
		if err == nil {
			got <- e
		}
		close(got)
	}()
	s.set(w, "a", "1", "n1", "x")
	select {
	case e := <-got:
		assert.Equal(t, ActionCreate, e.Action)
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return the change")
	}
	w.Stop()
	w.Stop() // idempotent
	_, err := w.Next()
	assert.ErrorIs(t, err, ErrWatcherStopped)
	assert.Equal(t, 1, s.unsub)
}

// A cancelled context stops the watcher at once, without a data race on
// its hook (run with -race).
func TestWatcherWithCancelledContext(t *testing.T) {
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := &fakeSource{nodes: map[nodeRef]*mirroredNode{}}
		w := newWatcher([]watchSource{s}, []dirRef{"a"}, ctx)
		select {
		case <-w.Stopped():
		case <-time.After(5 * time.Second):
			t.Fatal("a cancelled context did not stop the watcher")
		}
		_, err := w.Next()
		require.ErrorIs(t, err, ErrWatcherStopped)
	}
}
