package zkconfig

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/logger"
)

// Helpers of the tests against a real ZooKeeper.

// nextTimeout bounds a wait for a watcher's next change set: generous, the
// tests assert no timing.
const nextTimeout = 15 * time.Second

// rawZK returns a plain zk connection to addr (with digest credentials
// "user:password" if given), closed when the test ends, for tests to change
// ZooKeeper as another client would.
func rawZK(t testing.TB, addr string, digest ...string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(discardLogger{}))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	for _, d := range digest {
		require.NoError(t, c.AddAuth("digest", []byte(d)))
	}
	return c
}

// put creates the znode p with data, and its missing ancestors with empty
// data, or sets its data if it exists.
func put(t testing.TB, c *zk.Conn, p, data string) {
	t.Helper()
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			if _, err := c.Create(p[:i], nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				require.NoError(t, err, p[:i])
			}
		}
	}
	_, err := c.Create(p, []byte(data), 0, zk.WorldACL(zk.PermAll))
	if errors.Is(err, zk.ErrNodeExists) {
		_, err = c.Set(p, []byte(data), -1)
	}
	require.NoError(t, err, p)
}

// dump returns every znode under p (p included) as path -> data.
func dump(t testing.TB, c *zk.Conn, p string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(string)
	walk = func(p string) {
		data, _, err := c.Get(p)
		if errors.Is(err, zk.ErrNoNode) {
			return
		}
		require.NoError(t, err, p)
		out[p] = string(data)
		kids, _, err := c.Children(p)
		require.NoError(t, err, p)
		for _, k := range kids {
			walk(p + "/" + k)
		}
	}
	walk(p)
	return out
}

// sourceTimeout is the Timeout of the tests' sources, unless a test gives
// its own: generous, for a busy machine (a session and a read take a few
// milliseconds on a quiet one); the tests assert no timing.
const sourceTimeout = time.Minute

// newSource returns a source, closed when the test ends.
func newSource(t testing.TB, opts ...source.Option) source.Source {
	t.Helper()
	s := NewSource(append([]source.Option{Timeout(sourceTimeout)}, opts...)...)
	t.Cleanup(func() { require.NoError(t, s.(io.Closer).Close()) })
	return s
}

// watch returns a watcher of s, stopped when the test ends.
func watch(t testing.TB, s source.Source) source.Watcher {
	t.Helper()
	w, err := s.Watch()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, w.Stop()) })
	return w
}

// next returns w's next change set, failing the test if none comes within
// nextTimeout (the watcher is then stopped, which ends the wait).
func next(t testing.TB, w source.Watcher) *source.ChangeSet {
	t.Helper()
	type result struct {
		cs  *source.ChangeSet
		err error
	}
	ch := make(chan result, 1)
	go func() {
		cs, err := w.Next()
		ch <- result{cs, err}
	}()
	select {
	case r := <-ch:
		require.NoError(t, r.err)
		return r.cs
	case <-time.After(nextTimeout):
		_ = w.Stop()
		<-ch
		t.Fatalf("no change set within %v", nextTimeout)
		return nil
	}
}

// nextData returns the data of w's next change set.
func nextData(t testing.TB, w source.Watcher) string {
	t.Helper()
	return string(next(t, w).Data)
}

// read returns s's configuration.
func read(t testing.TB, s source.Source) string {
	t.Helper()
	cs, err := s.Read()
	require.NoError(t, err)
	return string(cs.Data)
}

// newConfig returns a go-micro config over src, as a go-micro user makes
// one, closed as closeConfig says when the test ends.
func newConfig(t testing.TB, src source.Source) config.Config {
	t.Helper()
	conf, err := config.NewConfig(config.WithSource(src))
	require.NoError(t, err)
	t.Cleanup(func() { closeConfig(conf) })
	return conf
}

// closeConfig stops what a go-micro config runs on its sources: it closes
// its loader, which stops the loader's watchers of the sources. It does not
// call conf.Close, which crashes go-micro v4.11.0; on go-micro v5, where
// conf.Close works (TestConfigClose* in main_test.go runs it in a child
// process), the config hands each change to its own watcher on a channel
// that conf.Close closes, with nothing between the two, which the race
// detector reports when a change came in lately.
func closeConfig(conf config.Config) {
	_ = conf.Options().Loader.Close()
}

// recLogger is a go-micro logger that keeps the lines it is given.
type recLogger struct {
	logger.Logger
	mu    sync.Mutex // guards lines
	lines []string
}

func newRecLogger() *recLogger { return &recLogger{Logger: logger.NewLogger()} }

func (r *recLogger) Logf(level logger.Level, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, level.String()+" "+fmt.Sprintf(format, args...))
}

// matching returns the lines that contain s.
func (r *recLogger) matching(s string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// discardLogger silences go-zookeeper.
type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
