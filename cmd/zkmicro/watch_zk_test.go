package main

import (
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

func TestBinaryWatchPrintsCreateUpdateDeleteUntilInterrupted(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	reg := newZKRegistry(t, srv.Addr)
	all := startBinary(t, nil, zkArgs(srv.Addr, "watch")...)
	one := startBinary(t, nil, zkArgs(srv.Addr, "watch", "greeter")...)

	// Each says on stderr when its watcher is in place.
	waitFor(t, "both watches started", func() bool {
		return strings.HasSuffix(all.stderr.String(), " zkmicro: watching every service\n") &&
			strings.HasSuffix(one.stderr.String(), " zkmicro: watching greeter\n")
	})

	register(t, reg, "auth", "1.0.0", "auth-1", "10.0.0.5:4200", nil)
	register(t, reg, "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100", nil)
	created := all.waitLine(t, " create greeter 1.0.0 greeter-1 10.0.0.7:4100")
	register(t, reg, "greeter", "1.0.0", "greeter-1", "10.0.0.7:4101", nil)
	updated := all.waitLine(t, " update greeter 1.0.0 greeter-1 10.0.0.7:4101")
	require.NoError(t, reg.Deregister(oneNodeService("greeter", "1.0.0", "greeter-1", "", nil)))
	deleted := all.waitLine(t, " delete greeter 1.0.0 greeter-1 10.0.0.7:4101")
	all.waitLine(t, " create auth 1.0.0 auth-1 10.0.0.5:4200")
	one.waitLine(t, " delete greeter 1.0.0 greeter-1 ")

	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (create|update|delete) \S+ \S+ \S+ \S+$`)
	for _, l := range []string{created, updated, deleted} {
		assert.Regexp(t, line, l)
	}
	lines := all.stdout.Lines()
	assert.Less(t, indexOf(lines, created), indexOf(lines, updated), "in order")
	assert.Less(t, indexOf(lines, updated), indexOf(lines, deleted), "in order")
	for _, l := range one.stdout.Lines() {
		assert.Contains(t, l, " greeter ", "watch greeter prints only greeter")
	}

	require.Equal(t, exitOK, all.stop(t, syscall.SIGINT), "stderr:\n%s", all.stderr)
	require.Equal(t, exitOK, one.stop(t, syscall.SIGTERM), "stderr:\n%s", one.stderr)
	assert.Len(t, all.stderr.Lines(), 1, "only the start")
	assert.Len(t, one.stderr.Lines(), 1, "only the start")
}

func indexOf(lines []string, line string) int {
	for i, l := range lines {
		if l == line {
			return i
		}
	}
	return -1
}
