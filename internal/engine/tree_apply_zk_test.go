package engine

import (
	"context"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Issue 19, item 9: a write during a short partition (the session
// survives) failed after 0.7 s with "the outcome is unknown (the write may
// have been applied)", although it was not applied and the timeout had
// time left: Apply waits for the session, re-reads and plans again.
func TestTreeApplyDuringAShortPartitionSucceeds(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	raw := rawZK(t, srv.Addr)
	mustCreate(t, raw, "/cfg/k")
	proxy, err := faultproxy.New(srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	tr := newTestTreeOn(t, Options{Addrs: []string{proxy.Addr}, Timeout: 20 * time.Second, Settings: []Option{SessionTimeout(20 * time.Second)}},
		TreeOptions{Prefix: "/cfg"})
	snapshot(t, tr)
	sid := tr.SessionID()

	set := func(value string) func(*TreeSnapshot) ([]any, error) {
		return func(s *TreeSnapshot) ([]any, error) {
			n := s.Nodes["/k"]
			if string(n.Data) == value {
				return nil, nil
			}
			return []any{&zk.SetDataRequest{Path: s.Root + "/k", Data: []byte(value), Version: n.Version}}, nil
		}
	}
	proxy.Partition()
	done := make(chan error, 1)
	go func() { done <- tr.Apply(context.Background(), set("during")) }()
	time.Sleep(700 * time.Millisecond) // the partition's length, not a wait for a condition
	proxy.Heal()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("Apply never returned")
	}
	data, _, err := raw.Get("/cfg/k")
	require.NoError(t, err)
	assert.Equal(t, "during", string(data))
	assert.Equal(t, sid, tr.SessionID(), "the same session")
	assert.Equal(t, "during", string(snapshot(t, tr).Nodes["/k"].Data), "read back")
}

// A write cut off whose re-read cannot be made within the timeout says
// that its outcome is unknown.
func TestTreeApplyCutOffSaysTheOutcomeIsUnknown(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	mustCreate(t, rawZK(t, srv.Addr), "/cfg/k")
	proxy, err := faultproxy.New(srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	tr := newTestTreeOn(t, Options{Addrs: []string{proxy.Addr}, Timeout: 3 * time.Second, Settings: []Option{SessionTimeout(20 * time.Second)}},
		TreeOptions{Prefix: "/cfg"})
	snapshot(t, tr)

	proxy.Partition()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cut the multi's connection once it is in flight: the partition
		// keeps the re-read from ever happening.
		time.Sleep(300 * time.Millisecond)
		proxy.Cut()
	}()
	err = tr.Apply(ctx, func(s *TreeSnapshot) ([]any, error) {
		return []any{&zk.SetDataRequest{Path: s.Root + "/k", Data: []byte("x"), Version: s.Nodes["/k"].Version}}, nil
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the outcome is unknown (the write may have been applied)")
	assert.Contains(t, err.Error(), "re-reading failed")
	proxy.Heal()
}
