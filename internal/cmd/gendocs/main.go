// Command gendocs writes the parts of the module's Markdown manuals that
// are generated from its Go sources (see package internal/gendocs): the
// options tables of README.md and zkconfig/README.md, the metric table of
// zkprom/README.md, and cmd/zkmicro/README.md. go generate runs it:
//
//	go generate . ./zkconfig ./zkprom ./cmd/zkmicro
//
// Usage:
//
//	gendocs [-check] TARGET...
//
// with the targets options, zkconfig-options, metrics and zkmicro, or all.
// It finds the module from the working directory. With -check it writes
// nothing, and exits 1 if a document is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/zkmicro/zookeeper/internal/gendocs"
)

func main() {
	check := flag.Bool("check", false, "report stale documents (exit 1) instead of writing them")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: gendocs [-check] TARGET... (options, zkconfig-options, metrics, zkmicro, all)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*check, flag.Args()))
}

// run generates or checks the targets named, and returns the exit code.
func run(check bool, names []string) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		return 1
	}
	root, err := gendocs.FindRoot(wd)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if len(names) == 1 && names[0] == "all" {
		names = nil
		for _, t := range gendocs.Targets {
			names = append(names, t.Name)
		}
	}
	code := 0
	for _, name := range names {
		t, err := gendocs.Lookup(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if check {
			current, want, err := gendocs.Expected(root, name)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if string(current) != string(want) {
				fmt.Fprintf(os.Stderr, "gendocs: %s is stale: run go generate (gendocs %s)\n", t.File, name)
				code = 1
			}
			continue
		}
		if _, err := gendocs.Generate(root, name); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return code
}
