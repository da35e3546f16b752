package main

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCheckURL(t *testing.T) {
	for _, raw := range []string{
		"tcp://127.0.0.1:8080",
		"tcp://localhost:8080/",
		"tcp://[::1]:8080",
		"http://127.0.0.1:8080/health",
		"https://svc.internal/healthz?deep=1",
		"https://svc.internal:65535/healthz",
		"http://[::1]:1/",
		"HTTP://127.0.0.1:8080/",
	} {
		t.Run(raw, func(t *testing.T) {
			_, err := parseCheckURL(raw)
			require.NoError(t, err)
		})
	}
	for raw, wantErr := range map[string]string{
		"127.0.0.1:8080":            "want tcp://HOST:PORT, http://URL or https://URL",
		"udp://127.0.0.1:8080":      "want tcp://HOST:PORT, http://URL or https://URL",
		"grpc://127.0.0.1:8080":     "want tcp://HOST:PORT, http://URL or https://URL",
		"tcp://127.0.0.1":           "want HOST:PORT",
		"tcp://127.0.0.1:0":         `port "0": want a number from 1 to 65535`,
		"tcp://127.0.0.1:http":      `invalid port ":http"`,
		"tcp://127.0.0.1:99999":     `port "99999": want a number from 1 to 65535`,
		"tcp://127.0.0.1:8080/path": "want tcp://HOST:PORT and nothing more",
		"http:///health":            "no host",
		"http://127.0.0.1:99999/":   `port "99999": want a number from 1 to 65535`,
		"https://[::1]:0/health":    `port "0": want a number from 1 to 65535`,
		"http://svc:65536":          `port "65536": want a number from 1 to 65535`,
		"http://%zz":                "invalid URL escape",
	} {
		t.Run(raw, func(t *testing.T) {
			_, err := parseCheckURL(raw)
			require.ErrorContains(t, err, wantErr)
			require.True(t, strings.HasPrefix(err.Error(), "--check "), "names the option: %v", err)
		})
	}
}

// tcpServer accepts connections on a loopback port and closes them.
type tcpServer struct {
	ln       net.Listener
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// startTCPServer listens on address ("127.0.0.1:0" for a free port) until
// stopped or the end of the test.
func startTCPServer(t *testing.T, address string) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", address)
	require.NoError(t, err)
	s := &tcpServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed
			}
			_ = conn.Close()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *tcpServer) addr() string { return s.ln.Addr().String() }

// stop closes the listener: connecting to its port is refused from then on.
func (s *tcpServer) stop() {
	s.stopOnce.Do(func() {
		_ = s.ln.Close()
		s.wg.Wait()
	})
}

// checkCtx bounds a check in a test.
func checkCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTCPCheck(t *testing.T) {
	srv := startTCPServer(t, "127.0.0.1:0")
	check := tcpCheck(srv.addr())

	require.NoError(t, check(checkCtx(t)))

	srv.stop()
	require.ErrorContains(t, check(checkCtx(t)), "connection refused")
}

func TestHTTPCheckStatuses(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/broken", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/broken", http.StatusFound) })
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code := map[string]int{"200": 200, "204": 204, "304": 304, "404": 404, "503": 503}[strings.TrimPrefix(r.URL.Path, "/status/")]
		w.WriteHeader(code)
		_, _ = w.Write([]byte("body"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for path, wantErr := range map[string]string{
		"/status/200": "",
		"/status/204": "",
		"/status/304": "",
		"/moved":      "", // 302 itself: redirects are not followed
		"/status/404": "status 404 Not Found",
		"/status/503": "status 503 Service Unavailable",
		"/broken":     "status 500 Internal Server Error",
	} {
		t.Run(path, func(t *testing.T) {
			target, err := parseCheckURL(srv.URL + path)
			require.NoError(t, err)

			err = newHealthCheck(target, nil)(checkCtx(t))

			if wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, wantErr)
			require.ErrorContains(t, err, "GET "+srv.URL+path)
		})
	}
}

func TestHTTPCheckOfAServerThatIsDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	target, err := parseCheckURL(srv.URL + "/health")
	require.NoError(t, err)
	check := newHealthCheck(target, nil)
	require.NoError(t, check(checkCtx(t)))

	srv.Close()

	require.ErrorContains(t, check(checkCtx(t)), "connection refused")
}

func TestHTTPCheckGivesUpAtItsDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close) // after release: cleanups run last-in first-out
	t.Cleanup(func() { close(release) })
	target, err := parseCheckURL(srv.URL)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()

	err = newHealthCheck(target, nil)(ctx)

	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestHTTPCheckOfABodyThatStallsFailsAtItsDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/large" {
			_, _ = w.Write(make([]byte, 10*maxCheckBody)) // then stalls, unread
		} else {
			_, _ = w.Write([]byte("ok, and more to come")) // a 200, then the body stalls
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close) // after release: cleanups run last-in first-out
	t.Cleanup(func() { close(release) })

	target, err := parseCheckURL(srv.URL + "/health")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = newHealthCheck(target, nil)(ctx)
	require.ErrorContains(t, err, "GET "+srv.URL+"/health: status 200 OK, but the body: ")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A body longer than what a check reads is not waited for.
	target, err = parseCheckURL(srv.URL + "/large")
	require.NoError(t, err)
	require.NoError(t, newHealthCheck(target, nil)(checkCtx(t)))
}

func TestHTTPSCheckVerifiesCertificates(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	target, err := parseCheckURL(srv.URL + "/health")
	require.NoError(t, err)

	err = newHealthCheck(target, nil)(checkCtx(t))
	require.ErrorContains(t, err, "certificate", "the test server's certificate is not among the system's roots")

	trusted := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	require.NoError(t, newHealthCheck(target, trusted)(checkCtx(t)))
}

func TestHTTPCheckErrorsHideThePassword(t *testing.T) {
	var mu sync.Mutex // guards gotUser, gotPassword
	var gotUser, gotPassword string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotUser, gotPassword, _ = r.BasicAuth()
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	u.User = url.UserPassword("probe", "s3cret")
	target, err := parseCheckURL(u.String())
	require.NoError(t, err)

	err = newHealthCheck(target, nil)(checkCtx(t))

	require.ErrorContains(t, err, "status 503")
	assert.NotContains(t, err.Error(), "s3cret")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "probe", gotUser, "credentials in the URL are sent")
	assert.Equal(t, "s3cret", gotPassword)
}
