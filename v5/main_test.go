package zookeeper

// This file is written by hand in each registry face (the root module's
// package, go-micro v4; this one, go-micro v5): what the tests do
// differently per go-micro line. The other test files here are generated
// from the root module's, but those only this module has (fleet_test.go,
// generated_test.go, nov4_test.go, optiondocs_test.go, race_test.go,
// norace_test.go).

import (
	"testing"

	"go-micro.dev/v5"
)

// TestMain runs the tests (see runTests), or the child process a test
// asked for: a go-micro v5 service (runService) or the fleet's v5 client
// (runGreeterClient, fleet_test.go). go-micro v5's packages start their
// goroutines when they load, before the tests; runTests ignores those.
func TestMain(m *testing.M) {
	runTests(m, map[string]func() int{"micro": runService, "greeter-client": runGreeterClient})
}

// newService returns a go-micro v5 service named name.
func newService(name string, opts ...micro.Option) micro.Service {
	return micro.New(name, opts...)
}
