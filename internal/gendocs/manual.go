package gendocs

import (
	"bytes"
	"fmt"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"path/filepath"
)

// manualDir is the package of the zkmicro command, whose documentation is
// its manual.
const manualDir = "cmd/zkmicro"

// Manual returns cmd/zkmicro/README.md: the zkmicro command's package
// documentation (cmd/zkmicro/doc.go) in Markdown, as go/doc/comment prints
// it, under a title. Headings become second-level headings; doc links
// point at pkg.go.dev.
func Manual(root string) ([]byte, error) {
	fset := token.NewFileSet()
	path := filepath.Join(root, manualDir, "doc.go")
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		return nil, err
	}
	if f.Doc == nil {
		return nil, fmt.Errorf("%s has no package documentation", filepath.Join(manualDir, "doc.go"))
	}
	var p comment.Parser
	doc := p.Parse(f.Doc.Text())
	pr := comment.Printer{
		HeadingLevel:   2,
		HeadingID:      func(*comment.Heading) string { return "" },
		DocLinkBaseURL: "https://pkg.go.dev",
	}
	var b bytes.Buffer
	b.WriteString("<!-- Code generated from doc.go by go generate (internal/cmd/gendocs); DO NOT EDIT. -->\n\n")
	b.WriteString("# zkmicro\n\n")
	b.Write(pr.Markdown(doc))
	return b.Bytes(), nil
}
