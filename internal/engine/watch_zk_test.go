package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestWatchFromEmptyReportsTheStartingPointAsCreates(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	r := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Timeout: 10 * time.Second})
	ctx := context.Background()
	require.NoError(t, r.Register(ctx, svc("greeter", "1", "a", "b")))
	require.NoError(t, r.Register(ctx, svc("other", "1", "o")))

	w, err := r.Watch(ctx, "greeter", nil, WatchFromEmpty())
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	var created []string
	for range 2 {
		e := nextEvent(t, w, 10*time.Second)
		require.Equal(t, ActionCreate, e.Action)
		created = append(created, e.Service.Nodes[0].Id)
	}
	slices.Sort(created)
	assert.Equal(t, []string{"a", "b"}, created)
	noEvent(t, w, 200*time.Millisecond)

	// Then the changes, as any watcher.
	require.NoError(t, r.Deregister(ctx, svc("greeter", "1", "a")))
	e := nextEvent(t, w, 10*time.Second)
	assert.Equal(t, ActionDelete, e.Action)
	assert.Equal(t, "a", e.Service.Nodes[0].Id)

	all, err := r.Watch(ctx, "", nil, WatchFromEmpty())
	require.NoError(t, err)
	t.Cleanup(all.Stop)
	created = created[:0]
	for range 2 {
		created = append(created, nextEvent(t, all, 10*time.Second).Service.Nodes[0].Id)
	}
	slices.Sort(created)
	assert.Equal(t, []string{"b", "o"}, created)
}
