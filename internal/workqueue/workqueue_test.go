package workqueue

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAddDeduplicates(t *testing.T) {
	q := New(time.Millisecond, time.Millisecond)
	defer q.ShutDown()
	q.Add("a")
	q.Add("a")
	q.Add("b")
	assert.Equal(t, 2, q.Len())
	k, ok := q.Get()
	require.True(t, ok)
	assert.Equal(t, "a", k)
	q.Done(k)
	k, _ = q.Get()
	assert.Equal(t, "b", k)
	q.Done(k)
	assert.Equal(t, 0, q.Len())
}

func TestKeyAddedWhileProcessingComesBackAfterDone(t *testing.T) {
	q := New(time.Millisecond, time.Millisecond)
	defer q.ShutDown()
	q.Add("a")
	k, _ := q.Get()
	q.Add("a") // while processing: not handed to a second worker
	assert.Equal(t, 0, q.Len())
	q.Done(k)
	assert.Equal(t, 1, q.Len())
}

func TestNoKeyIsProcessedTwiceAtOnce(t *testing.T) {
	q := New(time.Millisecond, time.Millisecond)
	var mu sync.Mutex
	active := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, ok := q.Get()
				if !ok {
					return
				}
				mu.Lock()
				if active[k] {
					t.Errorf("key %s processed by two workers", k)
				}
				active[k] = true
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				active[k] = false
				mu.Unlock()
				q.Done(k)
			}
		}()
	}
	for i := 0; i < 500; i++ {
		q.Add(string(rune('a' + i%4)))
	}
	time.Sleep(50 * time.Millisecond)
	q.ShutDown()
	wg.Wait()
}

func TestRetryBacksOffAndForgetResets(t *testing.T) {
	q := New(10*time.Millisecond, 40*time.Millisecond)
	defer q.ShutDown()
	assert.Equal(t, 10*time.Millisecond, q.Retry("k"))
	assert.Equal(t, 20*time.Millisecond, q.Retry("k"))
	assert.Equal(t, 40*time.Millisecond, q.Retry("k"))
	assert.Equal(t, 40*time.Millisecond, q.Retry("k"))
	q.Forget("k")
	assert.Equal(t, 10*time.Millisecond, q.Retry("k"))
	k, ok := q.Get() // arrives after its delay
	require.True(t, ok)
	assert.Equal(t, "k", k)
}

func TestShutDownUnblocksGetAndIsIdempotent(t *testing.T) {
	q := New(time.Millisecond, time.Millisecond)
	done := make(chan bool)
	go func() {
		_, ok := q.Get()
		done <- ok
	}()
	time.Sleep(10 * time.Millisecond)
	q.ShutDown()
	q.ShutDown()
	assert.False(t, <-done)
	q.Add("after")
	q.AddAfter("after", time.Millisecond)
	_, ok := q.Get()
	assert.False(t, ok)
}

// pool runs spawned workers on goroutines it waits for, as an owner does.
type pool struct{ wg sync.WaitGroup }

func (p *pool) spawn(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

func TestProcessGrowsWithWorkAndRetiresWhenIdle(t *testing.T) {
	q := New(time.Millisecond, time.Millisecond)
	var p pool
	release := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]int{}
	running, peak := 0, 0
	q.Process(4, func(key string) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		seen[key]++
		mu.Unlock()
		q.Forget(key)
	}, p.spawn)
	assert.Equal(t, 0, q.Workers(), "no work, no worker")

	q.Add("a")
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return running == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1, q.Workers(), "one key, one worker")

	for i := 0; i < 20; i++ {
		q.Add(string(rune('b' + i)))
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return running == 4 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 4, q.Workers(), "bounded by max")
	close(release)
	require.Eventually(t, func() bool { return q.Workers() == 0 }, 5*time.Second, time.Millisecond, "idle workers retire")
	mu.Lock()
	assert.Len(t, seen, 21)
	for k, n := range seen {
		assert.Equal(t, 1, n, "key %s", k)
	}
	assert.LessOrEqual(t, peak, 4)
	mu.Unlock()
	q.ShutDown()
	p.wg.Wait()
}

func TestProcessNeverSpawnsAfterShutDown(t *testing.T) {
	q := New(time.Millisecond, time.Millisecond)
	var p pool
	q.Process(2, func(key string) { q.Forget(key) }, p.spawn)
	q.ShutDown()
	q.Add("late")
	q.AddAfter("later", time.Millisecond)
	assert.Equal(t, 0, q.Workers())
	p.wg.Wait()
}
