package engine

// A process that crashes: the test binary re-runs itself as a child
// (TestMain hands over to runChild when childEnv is set) that registers
// one node and stays alive until the test SIGKILLs it.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childEnv selects what the test binary does when a test runs it as a
// child process.
const childEnv = "ZKMICRO_TEST_CHILD"

// runChild is the child process's main. In mode "register" it registers
// node ZK_NODE of service ZK_SERVICE at ZK_ADDR with session timeout
// ZK_SESSION_TIMEOUT, prints "REGISTERED 0x<session>" (or "ERROR ...") as
// its first and only line, and waits to be killed.
func runChild(mode string) int {
	if mode != "register" {
		fmt.Println("ERROR unknown child mode", mode)
		return 2
	}
	st, _ := time.ParseDuration(os.Getenv("ZK_SESSION_TIMEOUT"))
	r := NewRegistry(Options{Addrs: []string{os.Getenv("ZK_ADDR")}, Settings: []Option{SessionTimeout(st)}})
	s := &Service{
		Name:    os.Getenv("ZK_SERVICE"),
		Version: "1.0.0",
		Nodes:   []*Node{{Id: os.Getenv("ZK_NODE"), Address: "127.0.0.1:9"}},
	}
	if err := r.Register(context.Background(), s); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Printf("REGISTERED 0x%x\n", peekSessionID(r))
	select {}
}

// child is the test binary running as a child process.
type child struct {
	cmd *exec.Cmd
}

// startChild runs the test binary in mode with env, and returns once it
// printed its first line (which it returns), failing t if that line
// starts with ERROR. The child is killed when t ends.
func startChild(t *testing.T, mode string, env ...string) (*child, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
	})
	select {
	case line := <-lines:
		require.False(t, strings.HasPrefix(line, "ERROR"), "child: %s", line)
		return &child{cmd: cmd}, line
	case <-time.After(30 * time.Second):
		t.Fatal("child process printed nothing in 30s")
	}
	return nil, ""
}

// kill SIGKILLs the child.
func (c *child) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
}
