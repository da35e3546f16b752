package main

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	oldzk "github.com/go-micro/plugins/v4/registry/zookeeper"
	"github.com/go-zookeeper/zk"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
)

// openOurs returns this plugin's registry on addr, rooted at prefix.
func openOurs(addr, prefix string, opts ...registry.Option) registry.Registry {
	base := []registry.Option{
		registry.Addrs(addr),
		registry.Timeout(30 * time.Second),
		registry.Logger(quietLogger),
		zookeeper.Prefix(prefix),
	}
	return zookeeper.NewRegistry(append(base, opts...)...)
}

// openOld returns the old plugin's registry on addr. It always uses
// /micro-registry; its registry.Timeout is a count of seconds (it multiplies
// it by time.Second) and sets the session timeout. It connects at once and
// returns nil when it cannot.
func openOld(addr string) (registry.Registry, error) {
	r := oldzk.NewRegistry(registry.Addrs(addr), registry.Timeout(10))
	if r == nil {
		return nil, fmt.Errorf("old plugin: NewRegistry returned nil for %s", addr)
	}
	return r, nil
}

// closeRegistry ends a registry's session. The old plugin has no Close: its
// zk.Conn is taken from its unexported field, so that the harness does not
// leave sessions (and load) behind on the ensemble.
func closeRegistry(r registry.Registry) {
	if c, ok := r.(io.Closer); ok {
		_ = c.Close()
		return
	}
	v := reflect.ValueOf(r)
	if v.Kind() != reflect.Pointer {
		return
	}
	f := v.Elem().FieldByName("client")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*zk.Conn)(nil)) {
		return
	}
	if c := *(**zk.Conn)(unsafe.Pointer(f.UnsafeAddr())); c != nil {
		c.Close()
	}
}

// benchService returns a service with one node per id, with the metadata
// and endpoint a go-micro service registers.
func benchService(name string, ids ...string) *registry.Service {
	s := &registry.Service{
		Name:     name,
		Version:  "1.0.0",
		Metadata: map[string]string{"team": "bench"},
		Endpoints: []*registry.Endpoint{{
			Name:     "Greeter.Hello",
			Request:  &registry.Value{Name: "Request", Type: "Request", Values: []*registry.Value{{Name: "name", Type: "string"}}},
			Response: &registry.Value{Name: "Response", Type: "Response", Values: []*registry.Value{{Name: "msg", Type: "string"}}},
			Metadata: map[string]string{"stream": "false"},
		}},
	}
	for i, id := range ids {
		s.Nodes = append(s.Nodes, &registry.Node{
			Id:      id,
			Address: fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250),
			Metadata: map[string]string{
				"broker": "http", "protocol": "grpc", "registry": "zookeeper",
				"server": "grpc", "transport": "grpc",
			},
		})
	}
	return s
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

func countNodes(svcs []*registry.Service) int {
	n := 0
	for _, s := range svcs {
		n += len(s.Nodes)
	}
	return n
}

func hasNode(s *registry.Service, id string) bool {
	if s == nil {
		return false
	}
	for _, n := range s.Nodes {
		if n != nil && n.Id == id {
			return true
		}
	}
	return false
}

// captureLogger keeps what the registry logs, with the time, so that the
// harness can tell when a new session was established.
type captureLogger struct {
	mu    sync.Mutex // guards lines
	lines []logLine
}

type logLine struct {
	at  time.Time
	msg string
}

var quietLogger = &captureLogger{}

func (l *captureLogger) Init(...logger.Option) error                 { return nil }
func (l *captureLogger) Options() logger.Options                     { return logger.Options{} }
func (l *captureLogger) Fields(map[string]interface{}) logger.Logger { return l }
func (l *captureLogger) String() string                              { return "capture" }
func (l *captureLogger) Log(level logger.Level, v ...interface{})    { l.add(fmt.Sprint(v...)) }
func (l *captureLogger) Logf(level logger.Level, format string, v ...interface{}) {
	l.add(fmt.Sprintf(format, v...))
}

func (l *captureLogger) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) < 10000 {
		l.lines = append(l.lines, logLine{time.Now(), msg})
	}
}

// first returns the time of the first line containing s after since.
func (l *captureLogger) first(s string, since time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if ln.at.After(since) && strings.Contains(ln.msg, s) {
			return ln.at, true
		}
	}
	return time.Time{}, false
}
