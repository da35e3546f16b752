package zookeeper

// This file is written by hand in each registry face (this package,
// go-micro v4; module v5's root package, go-micro v5): what the tests do
// differently per go-micro line. The other test files of module v5's root
// package are generated from this package's, but those only module v5 has
// (internal/cmd/genv5's table lists them).

import (
	"testing"

	"go-micro.dev/v4"
	"go.uber.org/goleak"
)

// TestMain runs the tests (see runTests), or the child process a test
// asked for. go-micro v4's config package starts goroutines when it loads
// (and some a moment later); they are not ours.
func TestMain(m *testing.M) {
	runTests(m, map[string]func() int{"micro": runService},
		goleak.IgnoreTopFunction("go-micro.dev/v4/config/loader/memory.(*memory).Watch.func1"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run.func2"),
		goleak.IgnoreTopFunction("go-micro.dev/v4/config.(*config).run"),
	)
}

// newService returns a go-micro v4 service named name.
func newService(name string, opts ...micro.Option) micro.Service {
	return micro.NewService(append([]micro.Option{micro.Name(name)}, opts...)...)
}
