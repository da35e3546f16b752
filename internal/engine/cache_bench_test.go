package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// The measured reason the registry's mirror and the config source's Tree
// apply what they read differently (ARCHITECTURE.md): a lookup of one
// service through the mirror reads that service; through a Tree of the
// whole prefix it would read every service. Run with
//
//	go test -run '^$' -bench BenchmarkColdLookup -benchtime 20x ./internal/engine

// packetsReceived returns the server's count of packets received (mntr).
func packetsReceived(b *testing.B, addr string) int {
	b.Helper()
	out, err := zktest.FourLetter(addr, "mntr")
	require.NoError(b, err)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "zk_packets_received\t"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(b, err)
			return n
		}
	}
	b.Fatalf("mntr has no zk_packets_received")
	return 0
}

func BenchmarkColdLookup(b *testing.B) {
	const services, per = 1000, 10
	srv := zktest.Start(b)
	raw := rawConn(b, srv.Addr)
	ops := []any{&zk.CreateRequest{Path: "/micro-registry", Acl: zk.WorldACL(zk.PermAll)}}
	flush := func() {
		_, err := raw.Multi(ops...)
		require.NoError(b, err)
		ops = ops[:0]
	}
	for i := range services {
		name := fmt.Sprintf("svc%04d", i)
		ops = append(ops, &zk.CreateRequest{Path: "/micro-registry/" + name, Acl: zk.WorldACL(zk.PermAll)})
		s := svc(name, "1", ids(name, per)...)
		for _, n := range s.Nodes {
			data, err := encodeNode(s, n)
			require.NoError(b, err)
			ops = append(ops, &zk.CreateRequest{Path: "/micro-registry/" + name + "/" + n.Id, Data: data, Acl: zk.WorldACL(zk.PermAll)})
		}
		if len(ops) > 500 {
			flush()
		}
	}
	flush()
	ctx := context.Background()
	o := Options{Addrs: []string{srv.Addr}, Timeout: time.Minute}

	b.Run("mirror", func(b *testing.B) {
		start := packetsReceived(b, srv.Addr)
		for i := 0; i < b.N; i++ {
			r := NewRegistry(o)
			got, err := r.GetService(ctx, "svc0500")
			require.NoError(b, err)
			require.Len(b, got[0].Nodes, per)
			require.NoError(b, r.Close())
		}
		b.ReportMetric(float64(packetsReceived(b, srv.Addr)-start)/float64(b.N), "packets/op")
	})
	b.Run("tree", func(b *testing.B) {
		start := packetsReceived(b, srv.Addr)
		for i := 0; i < b.N; i++ {
			c := NewClient(o)
			tr := NewTree(c, TreeOptions{Prefix: "/micro-registry"})
			s, err := tr.Snapshot(ctx)
			require.NoError(b, err)
			require.Len(b, s.Nodes["/svc0500"].Children, per)
			require.NoError(b, tr.Close())
			require.NoError(b, c.Close())
		}
		b.ReportMetric(float64(packetsReceived(b, srv.Addr)-start)/float64(b.N), "packets/op")
	})
}
