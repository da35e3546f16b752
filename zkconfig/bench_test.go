package zkconfig

// Benchmarks against real ZooKeeper. They assert nothing about time: they
// report figures.
//
//	go test -run '^$' -bench . -benchtime 200x ./zkconfig/
//
// BenchmarkPushLatency: from a write by another client to Next returning
// the new configuration, with 1 and 100 watching sources (each its own
// session) on a 3-node ensemble; beside it, the floor measured in the same
// run: one quorum write plus one read with raw zk. BenchmarkSourceMemory:
// the heap a source holding a 10,000-key tree keeps, and its cold read.

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

func BenchmarkPushLatency(b *testing.B) {
	ens := zktest.StartEnsemble(b, 3)
	addrs := ens.Addrs()
	writer := rawZK(b, addrs[0])
	reader := rawZK(b, addrs[1])
	put(b, writer, "/bench/greeting", "0")
	put(b, writer, "/floor/greeting", "0") // outside the prefix: writes there push nothing
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("sources=%d", n), func(b *testing.B) {
			benchPush(b, addrs, writer, reader, n)
		})
	}
}

// arrival is a change set a watching source received, and when.
type arrival struct {
	value int
	at    time.Time
}

func benchPush(b *testing.B, addrs []string, writer, reader *zk.Conn, n int) {
	arrivals := make(chan arrival, n)
	var srcs []source.Source
	var ws []source.Watcher
	done := make(chan struct{}, n)
	for i := range n {
		// Spread the sessions over the ensemble, as services would be.
		src := NewSource(WithAddress(addrs[i%len(addrs)]), WithPrefix("/bench"))
		if _, err := src.Read(); err != nil {
			b.Fatal(err)
		}
		w, err := src.Watch()
		if err != nil {
			b.Fatal(err)
		}
		srcs, ws = append(srcs, src), append(ws, w)
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				cs, err := w.Next()
				at := time.Now()
				if err != nil {
					return
				}
				var doc struct{ Greeting int }
				if err := json.Unmarshal(cs.Data, &doc); err != nil {
					panic(err)
				}
				arrivals <- arrival{doc.Greeting, at}
			}
		}()
	}
	defer func() {
		for i := range ws {
			_ = ws[i].Stop()
			<-done
			_ = srcs[i].(io.Closer).Close()
		}
	}()

	var push, floor []time.Duration
	value := int(time.Now().UnixNano() % 1e9)
	b.ResetTimer()
	for b.Loop() {
		// The floor: a quorum write, then a read of it by another
		// session, outside the watched prefix.
		start := time.Now()
		if _, err := writer.Set("/floor/greeting", []byte(strconv.Itoa(value)), -1); err != nil {
			b.Fatal(err)
		}
		if _, _, err := reader.Get("/floor/greeting"); err != nil {
			b.Fatal(err)
		}
		floor = append(floor, time.Since(start))
		// A push: the same write, under the prefix.
		value++
		start = time.Now()
		if _, err := writer.Set("/bench/greeting", []byte(strconv.Itoa(value)), -1); err != nil {
			b.Fatal(err)
		}
		for _, at := range awaitAll(b, arrivals, n, value) {
			push = append(push, at.Sub(start))
		}
	}
	b.StopTimer()
	report(b, push, "push")
	report(b, floor, "floor")
}

// awaitAll waits until each of n watchers reported value, and returns when
// each did.
func awaitAll(b *testing.B, arrivals <-chan arrival, n, value int) []time.Time {
	var ats []time.Time
	timeout := time.After(30 * time.Second)
	for len(ats) < n {
		select {
		case a := <-arrivals:
			if a.value == value {
				ats = append(ats, a.at)
			}
		case <-timeout:
			b.Fatalf("%d of %d sources saw value %d", len(ats), n, value)
		}
	}
	return ats
}

// report reports the median and 99th percentile of ds, in milliseconds.
func report(b *testing.B, ds []time.Duration, name string) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), name+"-p50-ms")
	b.ReportMetric(at(0.99), name+"-p99-ms")
}

func BenchmarkSourceMemory(b *testing.B) {
	srv := zktest.Start(b)
	c := rawZK(b, srv.Addr)
	const dirs, keys = 100, 100
	createTree(b, c, "/big", dirs, keys)
	var runs int
	var readTime time.Duration
	var bytes uint64
	for b.Loop() {
		before := heapInUse()
		start := time.Now()
		src := NewSource(WithAddress(srv.Addr), WithPrefix("/big"))
		cs, err := src.Read()
		if err != nil {
			b.Fatal(err)
		}
		readTime += time.Since(start)
		after := heapInUse()
		runtime.KeepAlive(src)
		runtime.KeepAlive(cs)
		if after > before {
			bytes += after - before
		}
		runs++
		_ = src.(io.Closer).Close()
	}
	b.ReportMetric(float64(bytes)/float64(runs)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(bytes)/float64(runs)/float64(dirs*keys), "heap-B/key")
	b.ReportMetric(float64(readTime)/float64(runs)/float64(time.Millisecond), "cold-read-ms")
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// createTree creates root with dirs children of keys children each, one
// multi per dir: dirs*keys leaves like "value-000042".
func createTree(b testing.TB, c *zk.Conn, root string, dirs, keys int) {
	put(b, c, root, "")
	for d := range dirs {
		ops := []any{&zk.CreateRequest{Path: fmt.Sprintf("%s/d%03d", root, d), Data: []byte{}, Acl: zk.WorldACL(zk.PermAll)}}
		for k := range keys {
			ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("%s/d%03d/k%03d", root, d, k), Data: fmt.Appendf(nil, "value-%06d", d*keys+k), Acl: zk.WorldACL(zk.PermAll)})
		}
		if _, err := c.Multi(ops...); err != nil {
			b.Fatal(err)
		}
	}
}
