package zkprom_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// helloServer is the hello example's server, built once by the first test
// that needs it (buildHelloServer) into programs, a directory TestMain
// removes.
var helloServer struct {
	once     sync.Once
	programs string
	path     string
	err      error
}

// buildHelloServer returns the path of the hello example's server, built
// on the first call.
func buildHelloServer(t *testing.T) string {
	t.Helper()
	helloServer.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		helloServer.path = filepath.Join(helloServer.programs, "server")
		helloServer.err = zktest.BuildProgram(ctx, helloServer.path, "", "github.com/zkmicro/zookeeper/example/hello/server")
	})
	require.NoError(t, helloServer.err)
	return helloServer.path
}

// metricsURL finds where the server said it serves its metrics.
var metricsURL = regexp.MustCompile(`serving metrics on (http://\S+/metrics)`)

// The hello server serves the registry's metrics and the Go runtime's on
// --metrics_address (here HELLO_METRICS_ADDRESS), and stops serving them
// when it stops.
func TestHelloServerServesMetrics(t *testing.T) {
	srv := zktest.Start(t)
	bin := buildHelloServer(t)

	server := exec.Command(bin, "--server_address=127.0.0.1:0")
	server.Env = append(os.Environ(),
		"MICRO_REGISTRY=zookeeper",
		"MICRO_REGISTRY_ADDRESS="+srv.Addr,
		"HELLO_METRICS_ADDRESS=127.0.0.1:0",
	)
	log := &zktest.Output{}
	server.Stdout, server.Stderr = log, log
	server.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, server.Start())
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	t.Cleanup(func() {
		_ = server.Process.Kill()
		<-exited
	})

	var url string
	zktest.Eventually(t, 60*time.Second, func() bool {
		m := metricsURL.FindStringSubmatch(log.String())
		if m != nil {
			url = m[1]
		}
		return url != ""
	}, "the server never said where it serves metrics:\n%s", log)
	var body string
	zktest.WaitFor(t, 60*time.Second, "the server's node counted as owned", func() error {
		var err error
		body, err = get(url)
		if err == nil && !strings.Contains(body, "\nmicro_registry_zookeeper_owned_nodes 1\n") {
			return errUnexpected(body)
		}
		return err
	})
	assert.Contains(t, body, "\nmicro_registry_zookeeper_sessions_established_total 1\n")
	assert.Contains(t, body, `micro_registry_zookeeper_call_duration_seconds_count{op="register"}`)
	assert.Contains(t, body, "\ngo_goroutines ", "the Go collector")

	// SIGTERM: the service stops, and /metrics with it.
	require.NoError(t, server.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
		exited <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not stop on SIGTERM:\n%s", log)
	}
	_, err := get(url)
	assert.Error(t, err, "metrics still served after the server stopped")
}

// --metrics_address needs the ZooKeeper registry: with another one (here
// go-micro's default, mdns) the server refuses to start and says why.
func TestHelloServerMetricsNeedZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hello example; runs without -short")
	}
	bin := buildHelloServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--server_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MICRO_REGISTRY") && !strings.HasPrefix(kv, "HELLO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the server must not start:\n%s", out)
	assert.Contains(t, string(out), "hello: --metrics_address: zookeeper: metrics: not a registry of this module")
}

// get returns the body of url.
func get(url string) (string, error) {
	// No keep-alive: no idle connection outlives the request.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errUnexpected(resp.Status + "\n" + string(b))
	}
	return string(b), nil
}

// errUnexpected reports an unexpected answer.
type errUnexpected string

func (e errUnexpected) Error() string { return "unexpected answer:\n" + string(e) }
