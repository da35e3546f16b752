package zookeeper

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The options are documented once, in the v4 registry's options.go, from
// which the README's options table is made: the v5 registry's options
// carry the same doc comments, name for name.
func TestOptionDocsAreTheV4Registrys(t *testing.T) {
	v4 := exportedDocs(t, "../options.go")
	v5 := exportedDocs(t, "options.go")
	require.NotEmpty(t, v4)
	assert.Equal(t, v4, v5, "v5/options.go's doc comments differ from options.go's: copy them")
}

// exportedDocs returns the doc comment of every exported function and
// constant of the Go file at path, by name.
func exportedDocs(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	require.NoError(t, err)
	docs := map[string]string{}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.IsExported() {
				docs[d.Name.Name] = d.Doc.Text()
			}
		case *ast.GenDecl:
			if d.Tok != token.CONST {
				continue
			}
			for _, spec := range d.Specs {
				vs := spec.(*ast.ValueSpec)
				for _, n := range vs.Names {
					if n.IsExported() {
						docs[n.Name] = vs.Doc.Text()
					}
				}
			}
		}
	}
	return docs
}
