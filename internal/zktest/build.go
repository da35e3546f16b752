package zktest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// RaceFlags are the build flags of a race-detecting build of this
// repository, the Makefile's RACE: the race detector over everything but
// go-zookeeper, whose own known race would fail tests at random
// (RELIABILITY.md, "The ZooKeeper client's own race").
var RaceFlags = []string{"-race", "-gcflags=github.com/go-zookeeper/zk=-race=false"}

// BuildProgram builds the main package pkg (as `go build` names it, from
// directory dir; "" is the test's own) into the file out, for a test to
// run as a separate process. When the test binary has the race detector,
// the program is built with RaceFlags, as make test builds the tests: it
// shares their compiled packages (only the link is new), and a race in
// this module's code inside the program ends it with the detector's exit
// status 66, which fails its test.
func BuildProgram(ctx context.Context, out, dir, pkg string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build"}
	if raceEnabled {
		args = append(args, RaceFlags...)
	}
	cmd := exec.CommandContext(ctx, goTool, append(args, "-o", out, pkg)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("zktest: go build -o %s %s: %w\n%s", out, pkg, err, b)
	}
	return nil
}

// buildTimeout bounds each build of BuildPrograms: generous, for a first
// build on a busy machine.
const buildTimeout = 5 * time.Minute

// BuildPrograms builds each main package of pkgs (output name → package,
// as `go build` names it from directory dir) with BuildProgram into t's
// temporary directory, and returns the programs' paths by output name.
func BuildPrograms(t TB, dir string, pkgs map[string]string) map[string]string {
	t.Helper()
	out := t.TempDir()
	bins := make(map[string]string, len(pkgs))
	for name, pkg := range pkgs {
		bins[name] = filepath.Join(out, name)
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		err := BuildProgram(ctx, bins[name], dir, pkg)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	return bins
}
