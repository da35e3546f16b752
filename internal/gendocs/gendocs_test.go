package gendocs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSentences(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []string
	}{
		{"one", "Sets the prefix.", []string{"Sets the prefix."}},
		{"lines joined", "Sets the\nprefix.  Default\n\"/x\".\n", []string{"Sets the prefix.", `Default "/x".`}},
		{"e.g. ends none", `Adds credentials, e.g. Auth("digest", x); more. Default: none.`,
			[]string{`Adds credentials, e.g. Auth("digest", x); more.`, "Default: none."}},
		{"period inside a name", "Default zk.WorldACL(zk.PermAll) without them. Next.",
			[]string{"Default zk.WorldACL(zk.PermAll) without them.", "Next."}},
		{"lower case goes on", "Bounds it (10 s. or so) well. Done", []string{"Bounds it (10 s. or so) well.", "Done"}},
		{"empty", " \n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, sentences(tc.text))
		})
	}
}

func TestWithoutName(t *testing.T) {
	for _, tc := range []struct{ sentence, name, want string }{
		{"SessionTimeout sets the timeout.", "SessionTimeout", "Sets the timeout."},
		{"OpenDirs, with credentials, accepts them.", "OpenDirs", "With credentials, accepts them."},
		{"Sessionless is another name.", "Session", "Sessionless is another name."},
		{"Other words.", "Prefix", "Other words."},
	} {
		assert.Equal(t, tc.want, withoutName(tc.sentence, tc.name), tc.sentence)
	}
}

func TestCutDefault(t *testing.T) {
	for _, tc := range []struct {
		sentence, want string
		ok             bool
	}{
		{"Default true.", "true", true},
		{"Default: none, or those in EnvAuth.", "none, or those in EnvAuth", true},
		{"Defaults apply.", "", false},
		{"It has a Default.", "", false},
	} {
		got, ok := cutDefault(tc.sentence)
		assert.Equal(t, tc.ok, ok, tc.sentence)
		assert.Equal(t, tc.want, got, tc.sentence)
	}
}

// testConsts are the constants the inline tests know.
func testConsts(t *testing.T) func(string) (constValue, bool) {
	c := newConstants(t.TempDir())
	src := `package p

import "time"

const (
	DefaultTimeout = 5 * time.Second
	DefaultIdle    = 10 * time.Minute
	DefaultPrefix  = "/micro-registry"
	DefaultReads   = 64
	EnvAuth        = "MICRO_REGISTRY_ZOOKEEPER_AUTH"
	Typed time.Duration = 3
)
`
	require.NoError(t, os.WriteFile(filepath.Join(c.root, "p.go"), []byte(src), 0o644))
	return func(name string) (constValue, bool) {
		v, err := c.value(".", name)
		return v, err == nil
	}
}

func TestInline(t *testing.T) {
	consts := testConsts(t)
	for _, tc := range []struct{ text, want string }{
		{"DefaultTimeout (5 s)", "`5s`"},
		{"DefaultIdle (10 min); it must be positive", "`10m`; it must be positive"},
		{`DefaultPrefix ("/micro-registry"); absolute`, "`/micro-registry`; absolute"},
		{"DefaultReads (64)", "`64`"},
		{"DefaultReads, or EnvAuth", "`64`, or `MICRO_REGISTRY_ZOOKEEPER_AUTH`"},
		{"Typed", "`3ns`"},
		{"zk.WorldACL(zk.PermAll) without credentials", "`zk.WorldACL(zk.PermAll)` without credentials"},
		{"see registry.Addrs and Auth(scheme, cred)", "see `registry.Addrs` and `Auth(scheme, cred)`"},
		{"the MICRO_REGISTRY_ZOOKEEPER_TLS* variables", "the `MICRO_REGISTRY_ZOOKEEPER_TLS*` variables"},
		{"perms zk.PermRead|zk.PermCreate or a|b", "perms `zk.PermRead`\\|`zk.PermCreate` or a\\|b"},
		{"GetService and go-micro's logger.DefaultLogger.", "GetService and go-micro's `logger.DefaultLogger`."},
		{"NotAConstant (5 s)", "NotAConstant (5 s)"},
	} {
		got, err := inline(tc.text, consts)
		require.NoError(t, err, tc.text)
		assert.Equal(t, tc.want, got, tc.text)
	}
}

// A doc comment that restates a default must state the true one.
func TestInlineRefusesAWrongRestatedValue(t *testing.T) {
	consts := testConsts(t)
	for _, text := range []string{"DefaultTimeout (10 s)", `DefaultPrefix ("/other")`, "DefaultReads (32)", "DefaultIdle (10 s)"} {
		_, err := inline(text, consts)
		assert.Error(t, err, text)
	}
}

func TestFormatDuration(t *testing.T) {
	consts := testConsts(t)
	for name, want := range map[string]string{"DefaultTimeout": "5s", "DefaultIdle": "10m"} {
		v, ok := consts(name)
		require.True(t, ok, name)
		assert.Equal(t, want, v.String())
	}
}

func TestSplice(t *testing.T) {
	doc := "# Title\n\n" + beginMarker("x", "old.go") + "\nold\nlines\n" + endMarker("x") + "\nafter\n"
	got, err := Splice([]byte(doc), "x", "new.go", []byte("new block\n"))
	require.NoError(t, err)
	assert.Equal(t, "# Title\n\n"+beginMarker("x", "new.go")+"\nnew block\n"+endMarker("x")+"\nafter\n", string(got))

	again, err := Splice(got, "x", "new.go", []byte("new block"))
	require.NoError(t, err)
	assert.Equal(t, string(got), string(again), "a block without a final newline gets one")

	for name, bad := range map[string]string{
		"no markers":   "# Title\n",
		"no end":       beginMarker("x", "a.go") + "\n",
		"end first":    endMarker("x") + "\n" + beginMarker("x", "a.go") + "\n",
		"two begins":   beginMarker("x", "a.go") + "\n" + beginMarker("x", "a.go") + "\n" + endMarker("x") + "\n",
		"another name": beginMarker("y", "a.go") + "\n" + endMarker("y") + "\n",
	} {
		_, err := Splice([]byte(bad), "x", "a.go", nil)
		assert.Error(t, err, name)
	}
}

func TestFindRoot(t *testing.T) {
	root, err := FindRoot(".")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "go.mod"))
	assert.DirExists(t, filepath.Join(root, "internal", "gendocs"))

	_, err = FindRoot(t.TempDir())
	assert.Error(t, err)
}

// Every option of the v4 registry and of the config source is in its
// table, with a default.
func TestOptionTablesListEveryOption(t *testing.T) {
	root, err := FindRoot(".")
	require.NoError(t, err)
	for _, tc := range []struct {
		dir, optType string
		table        func(string) ([]byte, error)
	}{
		{".", "registry.Option", RegistryOptions},
		{"zkconfig", "source.Option", SourceOptions},
	} {
		table, err := tc.table(root)
		require.NoError(t, err)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, filepath.Join(root, tc.dir, "options.go"), nil, 0)
		require.NoError(t, err)
		n := 0
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() && returns(fset, fd, tc.optType) {
				assert.Contains(t, string(table), "| `"+f.Name.Name+"."+fd.Name.Name+"(", fd.Name.Name)
				n++
			}
		}
		assert.Equal(t, n, strings.Count(string(table), "\n| `"+f.Name.Name+"."), tc.dir)
		assert.NotZero(t, n, tc.dir)
	}
}
