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
