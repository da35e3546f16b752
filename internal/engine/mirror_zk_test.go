package engine

// The shared mirror against real ZooKeeper: consistency under churn,
// eviction, and N watchers costing one set of ZooKeeper watches. The
// observers (truth, followWatcher, nodeView) are in observers_zk_test.go.

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// mirrorSize returns the number of services and nodes r mirrors.
func mirrorSize(r *Registry) (services, nodes int) {
	st := r.Stats()
	return st.MirroredServices, st.MirroredNodes
}

func TestMirrorConsistentUnderChurn(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ens := zktest.StartEnsemble(t, 3)
	addrs := ens.Addrs()
	raw := rawConn(t, addrs[0])
	services := []string{"churn.a", "churn.b", "churn.c", "churn/d"}

	// The observer watches everything before the churn starts, from
	// nothing: its watchers' views are then exactly what they reported.
	observer := newTestRegistry(t, Options{Addrs: addrs[2:]})
	var logs []*watchLog
	var names []string
	for i := 0; i < 2; i++ {
		w, err := observer.Watch(ctx, "", nil)
		require.NoError(t, err)
		logs, names = append(logs, followWatcher(t, w, nodeView{})), append(names, fmt.Sprintf("watch-all %d", i))
	}
	serviceOf := map[*watchLog]string{}
	for _, s := range services {
		for i := 0; i < 2; i++ {
			w, err := observer.Watch(ctx, s, nil)
			require.NoError(t, err)
			l := followWatcher(t, w, nodeView{})
			logs, names = append(logs, l), append(names, fmt.Sprintf("watch %s %d", s, i))
			serviceOf[l] = s
		}
	}

	churning, stop := context.WithTimeout(ctx, 3*time.Second)
	defer stop()
	var wg sync.WaitGroup
	var readErrs sync.Map
	// Readers use the mirror while it changes.
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for churning.Err() == nil {
				for _, s := range services {
					if _, err := observer.GetService(ctx, s); err != nil && !errors.Is(err, ErrNotFound) {
						readErrs.Store(err.Error(), true)
					}
				}
				if _, err := observer.ListServices(ctx); err != nil {
					readErrs.Store(err.Error(), true)
				}
			}
		}()
	}
	// Churners register, update, re-version and deregister their nodes.
	var ops [3]int
	for k := 0; k < 3; k++ {
		r := newTestRegistry(t, Options{Addrs: addrs[k : k+1]})
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(k)))
			owned := map[string]*Service{}
			var ids []string
			seq := 0
			for churning.Err() == nil {
				ops[k]++
				op := rng.Intn(10)
				if len(ids) == 0 {
					op = 0
				}
				switch {
				case op <= 3: // a new node
					seq++
					id := fmt.Sprintf("r%d-n%d", k, seq)
					s := svc(services[rng.Intn(len(services))], "1", id)
					if r.Register(ctx, s) == nil {
						owned[id], ids = s, append(ids, id)
					}
				case op <= 6: // new metadata
					s := owned[ids[rng.Intn(len(ids))]]
					s.Nodes[0].Metadata = map[string]string{"gen": strconv.Itoa(rng.Int())}
					_ = r.Register(ctx, s)
				case op == 7: // new version: a delete and a create for watchers
					s := owned[ids[rng.Intn(len(ids))]]
					if s.Version == "1" {
						s.Version = "2"
					} else {
						s.Version = "1"
					}
					_ = r.Register(ctx, s)
				default:
					i := rng.Intn(len(ids))
					id := ids[i]
					if r.Deregister(ctx, owned[id]) == nil {
						delete(owned, id)
						ids = append(ids[:i], ids[i+1:]...)
					}
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("churn: %v operations per registry", ops)
	readErrs.Range(func(k, _ any) bool {
		t.Errorf("read during churn: %v", k)
		return true
	})

	// Once writes stop, the mirror, every watcher and GetService must equal
	// what ZooKeeper holds.
	want := mustTruth(t, raw, DefaultPrefix, "")
	require.NotEmpty(t, want)
	for i, l := range logs {
		w := want
		if s, ok := serviceOf[l]; ok {
			w = filterView(want, s)
		}
		l.converge(t, w, 15*time.Second, names[i])
	}
	for _, s := range services {
		w := filterView(want, s)
		zktest.Eventually(t, 10*time.Second, func() bool { return w.diff(mirrorView(observer, s)) == "" },
			"mirror of %s differs from ZooKeeper: %s", s, w.diff(mirrorView(observer, s)))
		got, err := observer.GetService(ctx, s)
		if len(w) == 0 {
			require.ErrorIs(t, err, ErrNotFound)
			continue
		}
		require.NoError(t, err)
		assert.Empty(t, w.diff(servicesView(got)), "GetService(%q)", s)
	}
	all, err := observer.ListServices(ctx)
	require.NoError(t, err)
	assert.Empty(t, want.diff(servicesView(all)), "ListServices")
	// And a registry that never saw the churn reads the same.
	fresh := newTestRegistry(t, Options{Addrs: addrs[1:2], Settings: []Option{MirrorReads(false)}})
	all, err = fresh.ListServices(ctx)
	require.NoError(t, err)
	assert.Empty(t, want.diff(servicesView(all)), "ListServices without the mirror")
}

func TestMirrorEvictsIdleServices(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	writer := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	require.NoError(t, writer.Register(ctx, svc("idle", "1", "a")))
	require.NoError(t, writer.Register(ctx, svc("kept", "1", "b")))

	// Long enough, many times over, for the checks made before anything
	// may be evicted; evictions come within 1.25 idle times.
	const idle = time.Second
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Settings: []Option{MirrorIdle(idle)}})
	_, err := r.GetService(ctx, "idle")
	require.NoError(t, err)
	w, err := r.Watch(ctx, "kept", nil)
	require.NoError(t, err)
	services, nodes := mirrorSize(r)
	require.Equal(t, 2, services)
	require.Equal(t, 2, nodes)

	// Nobody looks at "idle" any more: it goes. "kept" has a watcher.
	zktest.Eventually(t, 10*idle, func() bool { s, _ := mirrorSize(r); return s == 1 }, "idle service never evicted")
	_, kept := peekMirrored(r, "kept")
	require.True(t, kept, "a watched service must stay mirrored")

	// A change to an evicted service fires its leftover watch once; the
	// mirror ignores it.
	require.NoError(t, writer.Register(ctx, svc("idle", "1", "c")))
	time.Sleep(2 * idle / 3)
	s, _ := mirrorSize(r)
	require.Equal(t, 1, s, "an evicted service must not come back by itself")

	// Looking it up again mirrors it again, with the change.
	got, err := r.GetService(ctx, "idle")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c"}, nodeIDs(got))

	// Once its last watcher stops, "kept" is evicted too; so is the list of
	// services after ListServices.
	w.Stop()
	_, err = r.ListServices(ctx)
	require.NoError(t, err)
	zktest.Eventually(t, 10*idle, func() bool {
		s, _ := mirrorSize(r)
		return s == 0 && !peekMirrorsListing(r)
	}, "services not evicted after their watcher stopped")
	assert.False(t, peekMirrorsListing(r))
}

var (
	consSID    = regexp.MustCompile(`sid=0x([0-9a-f]+)`)
	consRecved = regexp.MustCompile(`recved=(\d+)`)
)

// serverWatches returns the paths of the data watches the server holds for
// session sid, from the wchc four-letter word (which does not report child
// watches).
func serverWatches(t testing.TB, srv *zktest.Server, sid int64) []string {
	t.Helper()
	out, err := zktest.FourLetter(srv.Addr, "wchc")
	require.NoError(t, err)
	var paths []string
	mine := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "0x"):
			id, err := strconv.ParseUint(strings.TrimSpace(line[2:]), 16, 64)
			mine = err == nil && int64(id) == sid
		case strings.HasPrefix(line, "\t") && mine:
			paths = append(paths, strings.TrimSpace(line))
		}
	}
	return paths
}

// requestsFrom returns how many packets the server received from session
// sid, from the cons four-letter word.
func requestsFrom(t testing.TB, srv *zktest.Server, sid int64) int {
	t.Helper()
	out, err := zktest.FourLetter(srv.Addr, "cons")
	require.NoError(t, err)
	for _, line := range strings.Split(out, "\n") {
		m := consSID.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if id, err := strconv.ParseUint(m[1], 16, 64); err != nil || int64(id) != sid {
			continue
		}
		n, err := strconv.Atoi(consRecved.FindStringSubmatch(line)[1])
		require.NoError(t, err)
		return n
	}
	t.Fatalf("session 0x%x not in cons output:\n%s", sid, out)
	return 0
}

func TestWatchersShareOneSetOfZooKeeperWatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Start(t)
	writer := newTestRegistry(t, Options{Addrs: []string{srv.Addr}})
	s := svc("shared", "1", "a", "b", "c")
	require.NoError(t, writer.Register(ctx, s))
	require.NoError(t, writer.Register(ctx, svc("other", "1", "x")))

	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Settings: []Option{SessionTimeout(20 * time.Second)}}) // few pings
	var ws []*Watcher
	watch := func(service string) {
		w, err := r.Watch(ctx, service, nil)
		require.NoError(t, err)
		ws = append(ws, w)
		t.Cleanup(w.Stop)
	}
	watch("shared")
	watch("")
	sid := peekSessionID(r)
	// One data watch per node (and children watches, which the server does
	// not report, on the root and each service directory).
	one := serverWatches(t, srv, sid)
	require.ElementsMatch(t, []string{
		DefaultPrefix + "/shared/a", DefaultPrefix + "/shared/b", DefaultPrefix + "/shared/c",
		DefaultPrefix + "/other/x",
	}, one)
	before := requestsFrom(t, srv, sid)

	for i := 0; i < 20; i++ {
		watch("shared")
		watch("")
	}
	require.ElementsMatch(t, one, serverWatches(t, srv, sid), "42 watchers must cost the watches of 2")
	// Pings aside, the new watchers cost no request at all.
	assert.LessOrEqual(t, requestsFrom(t, srv, sid)-before, 2, "requests for 40 more watchers")

	// A change costs the same few requests whatever the number of
	// watchers, and each of them reports it.
	before = requestsFrom(t, srv, sid)
	changed := svc("shared", "1", "b")
	changed.Nodes[0].Metadata = map[string]string{"changed": "yes"}
	require.NoError(t, writer.Register(ctx, changed))
	for _, w := range ws {
		res := nextEvent(t, w, 10*time.Second)
		assert.Equal(t, "update", res.Action)
		assert.Equal(t, "b", res.Service.Nodes[0].Id)
	}
	// Re-reading the node, which re-arms its data watch, is one request;
	// allow for pings.
	assert.LessOrEqual(t, requestsFrom(t, srv, sid)-before, 3, "requests for one update seen by %d watchers", len(ws))

	// A new node: list the directory, read the node.
	before = requestsFrom(t, srv, sid)
	require.NoError(t, writer.Register(ctx, svc("shared", "1", "d")))
	for _, w := range ws {
		res := nextEvent(t, w, 10*time.Second)
		assert.Equal(t, "create", res.Action)
		assert.Equal(t, "d", res.Service.Nodes[0].Id)
	}
	assert.LessOrEqual(t, requestsFrom(t, srv, sid)-before, 4, "requests for one new node seen by %d watchers", len(ws))
	require.ElementsMatch(t, append(one, DefaultPrefix+"/shared/d"), serverWatches(t, srv, sid))
}
