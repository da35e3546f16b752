package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProbeAddress(t *testing.T) {
	live := startTCPServer(t, "127.0.0.1:0")
	ctx := checkCtx(t)

	status, detail := probeAddress(ctx, live.addr(), time.Second)
	assert.Equal(t, pruneAlive, status)
	assert.Empty(t, detail)

	status, detail = probeAddress(ctx, closedPort(t), time.Second)
	assert.Equal(t, pruneStale, status)
	assert.Equal(t, "connection refused", detail)

	for _, address := range []string{"", "10.0.0.7", "no-such-host.invalid:80"} {
		status, detail = probeAddress(ctx, address, time.Second)
		assert.Equal(t, pruneUnknown, status, "%q is never deleted: %s", address, detail)
		assert.NotEmpty(t, detail)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	status, _ = probeAddress(cancelled, live.addr(), time.Second)
	assert.Equal(t, pruneUnknown, status, "a probe cut short says nothing")
}

func TestForEachBoundsTheGoroutines(t *testing.T) {
	var mu = make(chan struct{}, 1)
	running, most, calls := 0, 0, 0
	forEach(50, 4, func(int) {
		mu <- struct{}{}
		running++
		calls++
		most = max(most, running)
		<-mu
		time.Sleep(time.Millisecond)
		mu <- struct{}{}
		running--
		<-mu
	})
	assert.Equal(t, 50, calls)
	assert.LessOrEqual(t, most, 4)
}
