package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../../.."

// The generated files in the repository are what the generator makes from
// their sources: a v5 file edited by hand, or a v4 source changed without
// go generate, fails here (and in module v5's TestGeneratedFilesAreFresh).
func TestGeneratedFilesAreFresh(t *testing.T) {
	out, err := repository.build(repoRoot)
	require.NoError(t, err)
	assert.Empty(t, out.differences(repoRoot), "run go generate in the repository root")
	assert.NotEmpty(t, out.files)
	for name, data := range out.files {
		assert.True(t, isGenerated(data), "%s carries the header", name)
		assert.NotContains(t, string(data), "go-micro.dev/v4", "%s compiles no go-micro v4 package", name)
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		rules []rule
		want  string // the text after the header; "" when an error is expected
		err   string // in the error
	}{
		{
			name: "imports rewritten and sorted",
			src:  "package p\n\nimport (\n\t\"go-micro.dev/v4/registry\"\n\t\"go-micro.dev/v4/util/cmd\"\n\n\t\"github.com/zkmicro/zookeeper/internal/engine\"\n\t\"github.com/zkmicro/zookeeper/internal/microlog\"\n)\n",
			want: "package p\n\nimport (\n\t\"go-micro.dev/v5/cmd\"\n\t\"go-micro.dev/v5/registry\"\n\n\t\"github.com/zkmicro/zookeeper/internal/engine\"\n\t\"github.com/zkmicro/zookeeper/v5/internal/microlog\"\n)\n",
		},
		{
			name: "module paths in comments, a full stop kept",
			src:  "// Package p is made by github.com/zkmicro/zookeeper.\n// See github.com/zkmicro/zookeeper/zkconfig (and github.com/zkmicro/zookeeper/internal/engine).\npackage p\n",
			want: "// Package p is made by github.com/zkmicro/zookeeper/v5.\n// See github.com/zkmicro/zookeeper/v5/zkconfig (and github.com/zkmicro/zookeeper/internal/engine).\npackage p\n",
		},
		{
			name:  "a rule's replacement is final",
			src:   "// p's twin for go-micro v5 is github.com/zkmicro/zookeeper/v5 (go-micro.dev/v5).\npackage p\n",
			rules: []rule{{old: "go-micro v5 is github.com/zkmicro/zookeeper/v5 (go-micro.dev/v5)", new: "go-micro v4 is github.com/zkmicro/zookeeper (go-micro.dev/v4)"}},
			want:  "// p's twin for go-micro v4 is github.com/zkmicro/zookeeper (go-micro.dev/v4).\npackage p\n",
		},
		{
			name:  "a keep rule",
			src:   "// Both go-micro v4 and v5.\npackage p\n",
			rules: []rule{{old: "go-micro v4 and v5", new: "go-micro v4 and v5"}},
			want:  "// Both go-micro v4 and v5.\npackage p\n",
		},
		{
			name: "the older plugin's path stays",
			src:  "// Like github.com/go-micro/plugins/v4/registry/zookeeper.\npackage p\n",
			want: "// Like github.com/go-micro/plugins/v4/registry/zookeeper.\npackage p\n",
		},
		{name: "v4 left in prose", src: "// A go-micro v4 registry.\npackage p\n", err: `v4 left in the generated text, in "// A go-micro v4 registry."`},
		{name: "a go-micro version left", src: "// go-micro v4.11.0 crashes.\npackage p\n", err: "v4 left"},
		{name: "a rule that matches nothing", src: "package p\n", rules: []rule{{old: "gone", new: "x"}}, err: `rule 0 matches nothing: "gone"`},
		{name: "an unknown package of the module", src: "// github.com/zkmicro/zookeeper/cmd/zkmicro\npackage p\n", err: "package github.com/zkmicro/zookeeper/cmd/zkmicro is neither in twins nor in shared"},
		{name: "the v5 module's path, unprotected", src: "// github.com/zkmicro/zookeeper/v5\npackage p\n", err: "neither in twins nor in shared"},
		{name: "not Go", src: "packge p\n", err: "not Go"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := repository
			tab.rules = map[string][]rule{"p/p.go": tt.rules}
			got, err := tab.generate("p/p.go", []byte(tt.src), map[string]bool{})
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.True(t, strings.HasPrefix(err.Error(), "p/p.go: "), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, generatedHeader("p/p.go")+"\n"+tt.want, string(got))
			assert.True(t, isGenerated(got))
		})
	}
}

// A check names what differs; writing makes the files, deletes a stale
// generated one and leaves hand-written ones alone; a check then passes.
func TestCheckAndWrite(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("go.mod", "module "+modulePath+"\n")
	write("a.go", "// Package zookeeper is github.com/zkmicro/zookeeper.\npackage zookeeper\n\nimport _ \"go-micro.dev/v4/util/cmd\"\n")
	write("b.go", "package zookeeper\n\nimport _ \"go-micro.dev/v4/registry\"\n")
	write("sub/c.go", "package sub // micro.NewService()\n")
	write("sub/hand_test.go", "package sub\n")
	write("v5/old.go", generatedHeader("old.go")+"\npackage zookeeper\n")
	write("v5/hand.go", "package zookeeper\n")
	tab := table{
		pkgs:   []pkg{{from: ".", to: "v5", files: []string{"a.go", "b.go"}}, {from: "sub", to: "v5/sub", hand: []string{"hand_test.go"}}},
		common: repository.common,
		twins:  repository.twins,
		shared: repository.shared,
		rules:  map[string][]rule{"sub/c.go": {{old: "micro.NewService()", new: `micro.New("x")`}}},
	}

	out, err := tab.build(root)
	require.NoError(t, err)
	assert.Equal(t, []string{"v5/a.go", "v5/b.go", "v5/sub/c.go"}, sortedNames(out.files), "hand-written files are not generated")
	assert.Equal(t, []string{"v5/a.go: missing", "v5/b.go: missing", "v5/sub/c.go: missing", "v5/old.go: generated, but its source is gone"}, out.differences(root))
	require.Error(t, tab.run(root, true))

	require.NoError(t, tab.run(root, false))
	require.NoError(t, tab.run(root, true))
	_, err = os.Stat(filepath.Join(root, "v5", "old.go"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the stale file is deleted")
	_, err = os.Stat(filepath.Join(root, "v5", "hand.go"))
	assert.NoError(t, err, "a hand-written file stays")
	got, err := os.ReadFile(filepath.Join(root, "v5", "a.go"))
	require.NoError(t, err)
	assert.Equal(t, generatedHeader("a.go")+"\n// Package zookeeper is github.com/zkmicro/zookeeper/v5.\npackage zookeeper\n\nimport _ \"go-micro.dev/v5/cmd\"\n", string(got))
	got, err = os.ReadFile(filepath.Join(root, "v5", "sub", "c.go"))
	require.NoError(t, err)
	assert.Contains(t, string(got), `micro.New("x")`)

	write("v5/b.go", "package zookeeper // edited by hand\n")
	out, err = tab.build(root)
	require.NoError(t, err)
	assert.Equal(t, []string{"v5/b.go: differs"}, out.differences(root))
}

// The table stays honest: a rule for a file it does not generate, or a
// common rule that matches nothing, is an error.
func TestBuildRefusesAStaleTable(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+modulePath+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a.go"), []byte("package a // go-micro.dev/v4\n"), 0o644))
	tab := table{pkgs: []pkg{{from: ".", to: "v5", files: []string{"a.go"}}}, common: repository.common, twins: repository.twins, shared: repository.shared}

	tab.rules = map[string][]rule{"gone.go": {{old: "x", new: "y"}}}
	_, err := tab.build(root)
	assert.ErrorContains(t, err, "the table has rules for gone.go, which is not generated")

	tab.rules = nil
	_, err = tab.build(root)
	assert.ErrorContains(t, err, `common rule "go-micro.dev/v4/util/cmd" matches no file`)
}

func TestBuildRefusesAnotherDirectory(t *testing.T) {
	_, err := repository.build(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not the repository root")
}

// In a package generated whole, every file of its v5 twin is accounted
// for: generated, written by hand in both faces (hand) or in v5 alone
// (own). A hand-written copy the table does not name is an error, as is
// an own file that is missing or generated.
func TestBuildAccountsForEveryFileOfAGeneratedPackage(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("go.mod", "module "+modulePath+"\n")
	write("sub/c.go", "package sub // go-micro.dev/v4\n")
	write("sub/main_test.go", "package sub\n")
	write("v5/sub/main_test.go", "package sub\n")
	write("v5/sub/only_test.go", "package sub\n")
	write("v5/sub/gone.go", generatedHeader("sub/gone.go")+"\npackage sub\n")
	tab := table{
		pkgs:   []pkg{{from: "sub", to: "v5/sub", hand: []string{"main_test.go"}, own: []string{"only_test.go"}}},
		common: repository.common[1:],
		twins:  repository.twins,
		shared: repository.shared,
	}
	out, err := tab.build(root)
	require.NoError(t, err)
	assert.Equal(t, []string{"v5/sub/c.go"}, sortedNames(out.files))
	assert.Equal(t, []string{"v5/sub/gone.go"}, out.stale, "a stale generated file is no stray")

	write("v5/sub/copy_test.go", "package sub // copied by hand\n")
	_, err = tab.build(root)
	assert.ErrorContains(t, err, "v5/sub/copy_test.go is neither generated from sub nor listed as written by hand")
	require.NoError(t, os.Remove(filepath.Join(root, "v5", "sub", "copy_test.go")))

	tab.pkgs[0].own = []string{"only_test.go", "missing_test.go"}
	_, err = tab.build(root)
	assert.ErrorContains(t, err, "v5/sub/missing_test.go is listed as v5/sub's own, but it is not there")

	tab.pkgs[0].own = []string{"only_test.go", "c.go"}
	_, err = tab.build(root)
	assert.ErrorContains(t, err, "v5/sub/c.go is listed as v5/sub's own, but it is generated from sub/c.go")
}
