package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Register refuses what it cannot store or no reader could read, with a
// short prefixed error, before dialing anything.
func TestRegisterRejectsBadInput(t *testing.T) {
	ctx := t.Context()
	r := NewRegistry(Options{Addrs: []string{"127.0.0.1:1"}})
	defer r.Close()
	huge := svc("big", "1", "n1")
	huge.Metadata = map[string]string{"blob": strings.Repeat("x", 2<<20)}
	// Just under the limit with a short path; over it with a 300 KB name.
	longName := svc(strings.Repeat("n", 300<<10), "1", "n1")
	longName.Metadata = map[string]string{"blob": strings.Repeat("x", 1<<20-200<<10)}
	// An endpoint value nested 6,000 deep encodes, but no reader decodes it.
	v := &Value{Name: "leaf"}
	for i := 0; i < 6000; i++ {
		v = &Value{Name: "v", Values: []*Value{v}}
	}
	deep := svc("deep", "1", "n1")
	deep.Endpoints = []*Endpoint{{Name: "E", Request: v}}
	badMeta := svc("s", "1", "n1")
	badMeta.Nodes[0].Metadata["k"] = "\xff"
	tests := []struct {
		name string
		svc  *Service
		want string
	}{
		{"nil service", nil, "service is nil"},
		{"empty name", &Service{Nodes: []*Node{{Id: "x"}}}, "name is empty"},
		{"no nodes", &Service{Name: "s"}, "has no nodes"},
		{"nil node", &Service{Name: "s", Nodes: []*Node{nil}}, "node 0 is nil"},
		{"empty id", &Service{Name: "s", Nodes: []*Node{{Address: "a"}}}, "empty id"},
		{"duplicate id", svc("s", "1", "x", "x"), "appears twice"},
		{"payload over 1 MiB", huge, "over the"},
		{"path over 1 MiB with the payload", longName, "with the path"},
		{"nesting no reader decodes", deep, "could not be read back"},
		{"name not UTF-8", svc("bad\xffname", "1", "n1"), "not valid UTF-8"},
		{"id not UTF-8", svc("s", "1", "n\xfe1"), "not valid UTF-8"},
		{"metadata not UTF-8", badMeta, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Register(ctx, tt.svc)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: "), err.Error())
			assert.Contains(t, err.Error(), tt.want)
			assert.Less(t, len(err.Error()), 1000, "errors stay short: %.200s", err)
			if tt.svc == nil || len(tt.svc.Nodes) == 0 || tt.svc.Nodes[0] == nil || tt.svc.Nodes[0].Id == "" || tt.name == "duplicate id" {
				require.Error(t, r.Deregister(ctx, tt.svc))
			}
		})
	}
	_, err := r.GetService(ctx, "")
	require.Error(t, err)
	// None of this dialed.
	assert.False(t, peekDialed(r))
}

// NewRegistry and Init make no connection and start no goroutine: go-micro
// calls NewRegistry() with no options and then Init(registry.Addrs(...)),
// which must cost one connection, made by the first call.
func TestNewRegistryAndInitDoNotDial(t *testing.T) {
	r := NewRegistry(Options{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { _ = r.Close() })
	require.NoError(t, r.Init(Options{Addrs: []string{"127.0.0.1:2"}, Timeout: 300 * time.Millisecond}))
	assert.False(t, peekDialed(r))
	cfg, err := r.Config()
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:2"}, cfg.Servers())

	_, err = r.ListServices(context.Background())
	require.Error(t, err, "nothing listens")
	assert.Contains(t, err.Error(), "127.0.0.1:2")
	assert.True(t, peekDialed(r), "the first call dials")
}
