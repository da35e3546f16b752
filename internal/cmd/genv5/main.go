// Command genv5 writes the go-micro v5 faces of this repository (module
// v5/) from its go-micro v4 faces (the root module), as go-micro keeps its
// own v4 and v5 plugins: the v5 files are the v4 ones with go-micro's
// import paths, this module's package paths and a few sentences of
// documentation rewritten, by the explicit table of table.go. What truly
// differs between the two go-micro lines in code lives in files written by
// hand in each face, which the table names.
//
// Run it from the repository root, as go generate does:
//
//	go generate ./...                  # or: go run ./internal/cmd/genv5
//	go run ./internal/cmd/genv5 -check # lists the files that differ, exit status 1
//
// Each generated file begins with a "Code generated ... DO NOT EDIT."
// line naming its source: change the source (or the table) and generate
// again. A generated file whose source is gone is deleted. Tests in both
// modules run the check, so a v5 file that drifts from its v4 source fails
// the build.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

func main() {
	check := flag.Bool("check", false, "write nothing; list the files that differ from what the generator makes, and exit with status 1 if any does")
	root := flag.String("root", ".", "the repository root (the directory of module "+modulePath+")")
	flag.Parse()
	if err := repository.run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "genv5:", err)
		os.Exit(1)
	}
}

// run generates tab's files under root, or with check compares them.
func (tab table) run(root string, check bool) error {
	out, err := tab.build(root)
	if err != nil {
		return err
	}
	if check {
		if bad := out.differences(root); len(bad) > 0 {
			return fmt.Errorf("generated files differ from their go-micro v4 sources (run go generate in the repository root):\n\t%s", strings.Join(bad, "\n\t"))
		}
		return nil
	}
	return out.write(root)
}

// output is what the generator makes.
type output struct {
	files map[string][]byte // by slash path relative to the root
	stale []string          // generated files whose source is gone
}

// build generates every file of tab from the sources under root.
func (tab table) build(root string) (*output, error) {
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	out := &output{files: map[string][]byte{}}
	usedCommon := map[string]bool{}
	seen := map[string]bool{}
	for _, p := range tab.pkgs {
		names := p.files
		if names == nil {
			var err error
			if names, err = goFiles(filepath.Join(root, filepath.FromSlash(p.from)), p.hand); err != nil {
				return nil, err
			}
		}
		for _, name := range names {
			src := path.Join(p.from, name)
			data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(src)))
			if err != nil {
				return nil, err
			}
			gen, err := tab.generate(src, data, usedCommon)
			if err != nil {
				return nil, err
			}
			seen[src] = true
			out.files[path.Join(p.to, name)] = gen
		}
	}
	for _, p := range tab.pkgs {
		if p.files == nil {
			if err := p.checkTo(root, out.files); err != nil {
				return nil, err
			}
		}
	}
	for src := range tab.rules {
		if !seen[src] {
			return nil, fmt.Errorf("the table has rules for %s, which is not generated", src)
		}
	}
	for _, c := range tab.common {
		if !usedCommon[c.old] {
			return nil, fmt.Errorf("common rule %q matches no file", c.old)
		}
	}
	stale, err := staleFiles(root, out.files)
	if err != nil {
		return nil, err
	}
	out.stale = stale
	return out, nil
}

// checkRoot fails unless root is the repository root.
func checkRoot(root string) error {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return fmt.Errorf("%s is not the repository root: %w", root, err)
	}
	first, _, _ := strings.Cut(string(mod), "\n")
	if strings.TrimSpace(first) != "module "+modulePath {
		return fmt.Errorf("%s is not the repository root: its go.mod is not module %s", root, modulePath)
	}
	return nil
}

// goFiles returns the names of the .go files of dir but those of hand,
// sorted.
func goFiles(dir string, hand []string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".go") && !slices.Contains(hand, e.Name()) {
			names = append(names, e.Name())
		}
	}
	for _, h := range hand {
		if _, err := os.Stat(filepath.Join(dir, h)); err != nil {
			return nil, fmt.Errorf("hand-written file: %w", err)
		}
	}
	return names, nil
}

// checkTo fails unless every .go file of p.to (under root) is generated
// (in files), written by hand in both faces (p.hand) or in p.to alone
// (p.own), or a generated file whose source is gone (which staleFiles
// finds), and unless every file of p.own is there and generated from
// nothing.
func (p pkg) checkTo(root string, files map[string][]byte) error {
	dir := filepath.Join(root, filepath.FromSlash(p.to))
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".go") {
			continue
		}
		present[name] = true
		if _, ok := files[path.Join(p.to, name)]; ok || slices.Contains(p.hand, name) || slices.Contains(p.own, name) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if !isGenerated(data) {
			return fmt.Errorf("%s is neither generated from %s nor listed as written by hand (the table's hand or own): generate it, or list it", path.Join(p.to, name), p.from)
		}
	}
	for _, name := range p.own {
		if _, ok := files[path.Join(p.to, name)]; ok {
			return fmt.Errorf("%s is listed as %s's own, but it is generated from %s", path.Join(p.to, name), p.to, path.Join(p.from, name))
		}
		if !present[name] {
			return fmt.Errorf("%s is listed as %s's own, but it is not there", path.Join(p.to, name), p.to)
		}
	}
	return nil
}

// staleFiles returns the generated files under root's v5/ that files does
// not hold, sorted.
func staleFiles(root string, files map[string][]byte) ([]string, error) {
	var stale []string
	err := filepath.WalkDir(filepath.Join(root, "v5"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if _, ok := files[rel]; ok {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if isGenerated(data) {
			stale = append(stale, rel)
		}
		return nil
	})
	sort.Strings(stale)
	return stale, err
}

// differences lists the files under root that differ from o: missing,
// changed, or stale.
func (o *output) differences(root string) []string {
	var bad []string
	for _, name := range sortedNames(o.files) {
		have, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			bad = append(bad, name+": missing")
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", name, err))
		case !bytes.Equal(have, o.files[name]):
			bad = append(bad, name+": differs")
		}
	}
	for _, name := range o.stale {
		bad = append(bad, name+": generated, but its source is gone")
	}
	return bad
}

// write writes o's files under root and deletes the stale ones.
func (o *output) write(root string) error {
	for _, name := range sortedNames(o.files) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if have, err := os.ReadFile(p); err == nil && bytes.Equal(have, o.files[name]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, o.files[name], 0o644); err != nil {
			return err
		}
	}
	for _, name := range o.stale {
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(name))); err != nil {
			return err
		}
	}
	return nil
}

// sortedNames returns the keys of files, sorted.
func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
