package zkresolver

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// BenchmarkResolverFollowsRegistry measures how soon a grpc client follows
// a node that another registry (another process in real life) registers
// and deregisters, beside the registry's own watcher in the same process:
//
//   - write: Register or Deregister returns (the znode is written);
//   - watcher: the client registry's watcher reports the change (the
//     registry's latency, which the resolver's rides on);
//   - resolver: grpc has taken the resolver's new list (UpdateState
//     returned: round_robin's picker has changed);
//   - call: a round_robin call lands on the registered node (the new list,
//     plus a connection to the node).
//
// Each is measured from the start of Register or Deregister, and reported
// as the mean in ms (-p50 and -p99 in the log).
func BenchmarkResolverFollowsRegistry(b *testing.B) {
	zk := zktest.Start(b)
	servers := newRegistry(b, zk.Addr)
	client := newRegistry(b, zk.Addr)
	base, fresh := startHealthServer(b), startHealthServer(b)
	require.NoError(b, servers.Register(node("bench", "1", "base", base.addr, nil)))
	baseNode, freshNode := "base@"+base.addr, "fresh@"+fresh.addr

	events := watchEvents(b, client.(engineRegistry).Engine(), "bench")
	rec := &recorder{}
	conn := dial(b, recordingBuilder{NewBuilder(client), rec}, "zookeeper:///bench", roundRobin)
	waitAnswering(b, conn, "calls on the base node", base.addr)

	var writeReg, watchReg, resolveReg, callReg, writeDereg, watchDereg, resolveDereg []time.Duration
	for b.Loop() {
		start := time.Now()
		require.NoError(b, servers.Register(node("bench", "1", "fresh", fresh.addr, nil)))
		writeReg = append(writeReg, time.Since(start))
		watchReg = append(watchReg, nextEvent(b, events, engine.ActionCreate).Sub(start))
		resolveReg = append(resolveReg, rec.stateSince(b, start, baseNode, freshNode).Sub(start))
		for {
			addr, err := check(conn)
			require.NoError(b, err)
			if addr == fresh.addr {
				break
			}
		}
		callReg = append(callReg, time.Since(start))

		start = time.Now()
		require.NoError(b, servers.Deregister(node("bench", "1", "fresh", fresh.addr, nil)))
		writeDereg = append(writeDereg, time.Since(start))
		watchDereg = append(watchDereg, nextEvent(b, events, engine.ActionDelete).Sub(start))
		resolveDereg = append(resolveDereg, rec.stateSince(b, start, baseNode).Sub(start))
	}
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{
		{"write-register", writeReg}, {"watcher-register", watchReg}, {"resolver-register", resolveReg}, {"call-register", callReg},
		{"write-deregister", writeDereg}, {"watcher-deregister", watchDereg}, {"resolver-deregister", resolveDereg},
	} {
		b.ReportMetric(ms(mean(m.d)), "ms-"+m.name)
		b.Logf("%s: mean %.2f ms, p50 %.2f ms, p99 %.2f ms (%d)", m.name, ms(mean(m.d)), ms(quantile(m.d, 0.5)), ms(quantile(m.d, 0.99)), len(m.d))
	}
}

// watchEvents returns the times and actions of the events of an engine
// watcher of service on reg, stopped when b ends.
func watchEvents(b *testing.B, reg *engine.Registry, service string) <-chan timedEvent {
	b.Helper()
	w, err := reg.Watch(context.Background(), service, nil)
	require.NoError(b, err)
	out := make(chan timedEvent, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			e, err := w.Next()
			if err != nil {
				return
			}
			out <- timedEvent{action: e.Action, at: time.Now()}
		}
	}()
	b.Cleanup(func() {
		w.Stop()
		<-done
	})
	return out
}

// timedEvent is a watcher's event and when it came.
type timedEvent struct {
	action string
	at     time.Time
}

// nextEvent returns when the next event came, which must be of action.
func nextEvent(b *testing.B, events <-chan timedEvent, action string) time.Time {
	b.Helper()
	select {
	case e := <-events:
		require.Equal(b, action, e.action)
		return e.at
	case <-time.After(wait):
		b.Fatalf("no %s event within %v", action, wait)
	}
	return time.Time{}
}

// stateSince waits for a state passed on after start that is want, and
// returns when it was passed on.
func (r *recorder) stateSince(b *testing.B, start time.Time, want ...string) time.Time {
	b.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for i, at := range r.times {
			if at.After(start) && slices.Equal(addresses(r.states[i]), want) {
				r.mu.Unlock()
				return at
			}
		}
		r.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("no state %v within %v", want, wait)
	return time.Time{}
}

func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(max(len(d), 1))
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
