// Package gendocs generates the parts of the module's Markdown manuals that
// the Go sources already say, so that each thing is documented once:
//
//   - the options tables of README.md and zkconfig/README.md, from the doc
//     comments of the options (options.go, zkconfig/options.go): each
//     option's first sentence and its default, with the named constants
//     they mention replaced by their values;
//   - the metric table of zkprom/README.md, from the metric descriptions of
//     internal/zkmetrics (collector.go): names, types, labels and help;
//   - cmd/zkmicro/README.md, the zkmicro manual, from the command's package
//     documentation (cmd/zkmicro/doc.go).
//
// Tables go between marker comments in a hand-written file (see Splice);
// the zkmicro manual is a whole generated file. The program
// internal/cmd/gendocs writes them (go generate); each target's package has
// a test that fails when its file differs from what Expected returns.
//
// It uses the standard library only, and parses the sources (go/ast,
// go/doc/comment) rather than importing the packages it documents.
package gendocs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the import path of the module whose documents are
// generated.
const ModulePath = "github.com/zkmicro/zookeeper"

// Target is one generated document, or one generated block of a document.
type Target struct {
	// Name is the target's name on the command line of
	// internal/cmd/gendocs.
	Name string
	// File is the document written, relative to the module root.
	File string
	// Sources are the files it is generated from, relative to the module
	// root, for messages.
	Sources []string
	// make returns the document's new content, given its current content
	// (nil when it does not exist).
	make func(root string, current []byte) ([]byte, error)
}

// Targets lists every generated document.
var Targets = []Target{
	{
		Name: "options", File: "README.md", Sources: []string{"options.go"},
		make: func(root string, current []byte) ([]byte, error) {
			block, err := RegistryOptions(root)
			if err != nil {
				return nil, err
			}
			return Splice(current, "options", "options.go", block)
		},
	},
	{
		Name: "zkconfig-options", File: "zkconfig/README.md", Sources: []string{"zkconfig/options.go"},
		make: func(root string, current []byte) ([]byte, error) {
			block, err := SourceOptions(root)
			if err != nil {
				return nil, err
			}
			return Splice(current, "options", "options.go", block)
		},
	},
	{
		Name: "metrics", File: "zkprom/README.md", Sources: []string{"internal/zkmetrics/collector.go"},
		make: func(root string, current []byte) ([]byte, error) {
			block, err := MetricsTable(root)
			if err != nil {
				return nil, err
			}
			return Splice(current, "metrics", "internal/zkmetrics/collector.go", block)
		},
	},
	{
		Name: "zkmicro", File: "cmd/zkmicro/README.md", Sources: []string{"cmd/zkmicro/doc.go"},
		make: func(root string, _ []byte) ([]byte, error) {
			return Manual(root)
		},
	},
}

// Lookup returns the target named name.
func Lookup(name string) (Target, error) {
	var names []string
	for _, t := range Targets {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return Target{}, fmt.Errorf("gendocs: no target %q (targets: %s)", name, strings.Join(names, ", "))
}

// Expected returns the current content of target name's document and the
// content the generator makes of it. The two differ when the document is
// stale.
func Expected(root, name string) (current, want []byte, err error) {
	t, err := Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	current, err = os.ReadFile(filepath.Join(root, t.File))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("gendocs: %w", err)
	}
	want, err = t.make(root, current)
	if err != nil {
		return nil, nil, fmt.Errorf("gendocs: %s: %w", t.File, err)
	}
	return current, want, nil
}

// Generate writes target name's document if it is stale, and reports
// whether it did.
func Generate(root, name string) (bool, error) {
	current, want, err := Expected(root, name)
	if err != nil {
		return false, err
	}
	if bytes.Equal(current, want) {
		return false, nil
	}
	t, _ := Lookup(name)
	if err := os.WriteFile(filepath.Join(root, t.File), want, 0o644); err != nil {
		return false, fmt.Errorf("gendocs: %w", err)
	}
	return true, nil
}

// FindRoot returns the root of the module (the directory of its go.mod)
// that holds dir.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("gendocs: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		mod, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && modulePath(mod) == ModulePath {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("gendocs: %s is not inside module %s", dir, ModulePath)
		}
	}
}

// modulePath returns the module path a go.mod declares.
func modulePath(mod []byte) string {
	for _, line := range strings.Split(string(mod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
