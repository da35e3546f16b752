package zktest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BuildProgram builds the main package pkg (as `go build` names it, from
// directory dir; "" is the test's own) into the file out, for a test to
// run as a separate process. It is built without the race detector, even
// when the tests run with it: a test runs a program for what it does (its
// output, its exit code, what it writes to ZooKeeper), and the race
// detector covers the same code in the tests that run it in-process. A
// race-built program would also fail its test, at random, on the known
// race inside go-zookeeper (RELIABILITY.md, "The ZooKeeper client's own
// race"). Built so, it shares the packages that `go vet` compiled.
func BuildProgram(ctx context.Context, out, dir, pkg string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("zktest: go build -o %s %s: %w\n%s", out, pkg, err, b)
	}
	return nil
}
