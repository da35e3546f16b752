package engine

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Tests of how connections are dialled, against real ZooKeeper servers and
// listeners that misbehave.

// misbehavingListener accepts connections on loopback and, with hang,
// holds them without a word; without, closes them at once. It stops when
// the test ends.
func misbehavingListener(t *testing.T, hang bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex // guards held
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if !hang {
				_ = c.Close()
				continue
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// Issue 19, item 4: with a member that accepts connections and never
// answers listed beside a live server, the first call failed about half
// the time (whenever zk's shuffled order tried the hung member first): the
// wait for its handshake took the whole timeout.
func TestFirstCallSucceedsBesideAHungMember(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	hung := misbehavingListener(t, true)
	const runs = 20
	// Generous against a slow machine: a run that tries the hung member
	// first needs about timeout/2 for it and milliseconds for the live
	// server.
	const timeout = 10 * time.Second
	errs := make([]error, runs)
	took := make([]time.Duration, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := NewRegistry(Options{Addrs: []string{hung, srv.Addr}, Timeout: timeout})
			defer func() { _ = r.Close() }()
			start := time.Now()
			_, errs[i] = r.ListServices(context.Background())
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	for i := range runs {
		assert.NoError(t, errs[i], "run %d", i)
	}
	t.Logf("first ListServices beside a hung member, %d runs: %v", runs, took)
}

// Issue 19, item 9: a plaintext connection closed before any answer was
// always blamed on TLS, partitions included.
func TestClosedConnectionIsBlamedOnTLSOnlyWhenThePortSpeaksTLS(t *testing.T) {
	t.Parallel()
	closing := misbehavingListener(t, false)
	r := NewRegistry(Options{Addrs: []string{closing}, Timeout: 2 * time.Second})
	t.Cleanup(func() { _ = r.Close() })
	_, err := r.ListServices(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), closing+" did not answer the session handshake")
	assert.NotContains(t, err.Error(), "TLS", "nothing there speaks TLS")

	_, secure, _ := zktest.StartTLS(t)
	tlsPort := NewRegistry(Options{Addrs: []string{secure}, Timeout: 5 * time.Second})
	t.Cleanup(func() { _ = tlsPort.Close() })
	_, err = tlsPort.ListServices(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), secure+" did not answer the session handshake (it speaks TLS")
	assert.Contains(t, err.Error(), EnvTLS)
}

func TestAttemptBound(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		timeout time.Duration
		servers int
		want    time.Duration
	}{
		{5 * time.Second, 1, 5 * time.Second},
		{5 * time.Second, 2, 2500 * time.Millisecond},
		{6 * time.Second, 3, 2 * time.Second},
		{time.Second, 20, minAttempt},
		{time.Second, 0, time.Second},
	} {
		assert.Equal(t, tt.want, attemptBound(tt.timeout, tt.servers), "%v over %d", tt.timeout, tt.servers)
	}
}
