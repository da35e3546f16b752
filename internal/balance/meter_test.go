package balance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMeterMeanWeighsRequestsByTheirTime(t *testing.T) {
	clock := newFakeClock()
	m := &Meter{now: clock.now}
	assert.Equal(t, 0.0, m.Mean(), "nothing yet")

	// Two requests during the whole second, a third for a quarter of it.
	m.Begin()
	m.Begin()
	clock.advance(250 * time.Millisecond)
	m.Begin()
	clock.advance(250 * time.Millisecond)
	m.End()
	clock.advance(500 * time.Millisecond)
	assert.Equal(t, 2, m.InFlight())
	assert.InDelta(t, 2.25, m.Mean(), 1e-9)

	// The next period starts at that reading.
	clock.advance(time.Second)
	assert.InDelta(t, 2.0, m.Mean(), 1e-9)
	m.End()
	m.End()
	clock.advance(time.Second)
	assert.InDelta(t, 0.0, m.Mean(), 1e-9)
	m.End() // one End too many: never below zero
	assert.Equal(t, 0, m.InFlight())
}

func TestMeterQuietWaitsForNoRequestDuringThePeriod(t *testing.T) {
	var m Meter
	ctx := context.Background()
	require.NoError(t, m.Quiet(ctx, time.Hour), "never used: quiet at once")

	m.Begin()
	done := make(chan error, 1)
	go func() { done <- m.Quiet(ctx, 20*time.Millisecond) }()
	select {
	case err := <-done:
		t.Fatalf("Quiet returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	m.End()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Quiet did not return once the request ended")
	}

	// A context that ends first.
	m.Begin()
	defer m.End()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, m.Quiet(cctx, time.Millisecond), context.DeadlineExceeded)
}
