package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// The tests in *_zk_test.go run the zkmicro binary as a user would, built
// once by TestMain, against real ZooKeeper servers. Under make test it is
// built with the race detector as the tests are (zktest.BuildProgram), so a
// race in its code fails the test that ran it.

// binary is the zkmicro binary TestMain built.
var binary string

// buildTimeout bounds TestMain's build of the binary: generous, for a
// first build on a busy machine.
const buildTimeout = 5 * time.Minute

// commandTimeout bounds a command the tests expect to end by itself: it is
// killed after that, and the test fails.
const commandTimeout = 30 * time.Second

// command is the binary started with args and env (KEY=VALUE pairs added to
// an environment without the registry's variables).
func command(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = time.Second
	return cmd
}

// runResult is what a command that ended printed, and its exit code.
type runResult struct {
	stdout, stderr string
	code           int
}

// runBinary runs `zkmicro args...` to its end, within commandTimeout.
func runBinary(t *testing.T, env []string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := command(ctx, env, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "zkmicro %s did not end within %s; stderr:\n%s", strings.Join(args, " "), commandTimeout, stderr.String())
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		require.NoError(t, err, "zkmicro %s", strings.Join(args, " "))
	}
	return runResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// process is a zkmicro started in the background.
type process struct {
	cmd    *exec.Cmd
	stdout *zktest.Output
	stderr *zktest.Output
	done   chan struct{} // closed when the process has exited
}

// startBinary starts `zkmicro args...`. It is killed at the end of the test
// if it is still running.
func startBinary(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{stdout: &zktest.Output{}, stderr: &zktest.Output{}, done: make(chan struct{})}
	p.cmd = command(context.Background(), env, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		defer close(p.done)
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// stop sends sig and returns the exit code once the process has exited.
func (p *process) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	return p.wait(t)
}

// wait returns the exit code once the process has exited by itself.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(commandTimeout):
		// SIGQUIT: the Go runtime prints every goroutine's stack and exits.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(commandTimeout):
		}
		t.Fatalf("zkmicro did not exit within %s; stderr:\n%s", commandTimeout, p.stderr.String())
		return -1
	}
}

// waitLine waits until the process has printed a line on stdout that
// contains every one of parts, and returns it.
func (p *process) waitLine(t *testing.T, parts ...string) string {
	t.Helper()
	var found string
	waitFor(t, fmt.Sprintf("a line with %q; stdout:\n%s\nstderr:\n%s", parts, p.stdout, p.stderr), func() bool {
		for _, l := range p.stdout.Lines() {
			if containsAll(l, parts...) {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

func containsAll(s string, parts ...string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

func TestBinaryUsageErrorExitsTwo(t *testing.T) {
	t.Parallel()
	r := runBinary(t, nil, "get")
	require.Equal(t, exitUsage, r.code, "stderr:\n%s", r.stderr)
	require.True(t, strings.HasPrefix(r.stderr, "zkmicro: missing SERVICE\n"), r.stderr)
	require.Contains(t, r.stderr, "USAGE:")
	require.Empty(t, r.stdout)

	r = runBinary(t, nil, "--help")
	require.Equal(t, exitOK, r.code)
	for _, cmd := range []string{"services", "get", "watch", "register", "prune", "doctor", "config"} {
		require.Contains(t, r.stdout, "   "+cmd+" ", "help lists %s", cmd)
	}
}
