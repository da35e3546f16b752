package gendocs

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"path/filepath"
	"strings"
)

// RegistryOptions returns the options block of README.md: a table of the
// go-micro v4 registry's own options (options.go at the module root) and
// one of the environment variables that stand in for them.
func RegistryOptions(root string) ([]byte, error) {
	f, err := parseOptionsFile(root, ".", "options.go")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := f.optionTable(&b, "registry.Option"); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	if err := f.envTable(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SourceOptions returns the options block of zkconfig/README.md: a table
// of the config source's options (zkconfig/options.go).
func SourceOptions(root string) ([]byte, error) {
	f, err := parseOptionsFile(root, "zkconfig", "options.go")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := f.optionTable(&b, "source.Option"); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// optionsFile is a parsed options.go and the constants of its package.
type optionsFile struct {
	dir    string // of the package, relative to the root
	name   string // of the file, for messages
	file   *ast.File
	fset   *token.FileSet
	consts *constants
}

func parseOptionsFile(root, dir, name string) (*optionsFile, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(root, dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	return &optionsFile{dir: dir, name: filepath.Join(dir, name), file: f, fset: fset, consts: newConstants(root)}, nil
}

// inline formats doc text for a table cell (see inline), with the
// exported constants of the file's package.
func (f *optionsFile) inline(text string) (string, error) {
	var lookupErr error
	out, err := inline(text, func(name string) (constValue, bool) {
		p, err := f.consts.pkg(f.dir)
		if err != nil {
			lookupErr = err
			return constValue{}, false
		}
		if _, ok := p.specs[name]; !ok || !ast.IsExported(name) {
			return constValue{}, false
		}
		v, err := f.consts.value(f.dir, name)
		if err != nil {
			lookupErr = err
			return constValue{}, false
		}
		return v, true
	})
	if lookupErr != nil {
		return "", lookupErr
	}
	return out, err
}

// optionTable writes the table of the file's option functions (exported
// functions returning optType), in source order: how to call each, its
// default (the sentence of its doc comment that begins with "Default"),
// and what it does (the first sentence).
func (f *optionsFile) optionTable(b *bytes.Buffer, optType string) error {
	b.WriteString("| Option | Default | What it does |\n|---|---|---|\n")
	n := 0
	for _, decl := range f.file.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || !fd.Name.IsExported() || !returns(f.fset, fd, optType) {
			continue
		}
		name := fd.Name.Name
		sents := sentences(fd.Doc.Text())
		if len(sents) == 0 {
			return fmt.Errorf("%s: option %s has no doc comment", f.name, name)
		}
		var def []string
		for _, s := range sents {
			if rest, ok := cutDefault(s); ok {
				def = append(def, rest)
			}
		}
		if len(def) != 1 {
			return fmt.Errorf("%s: the doc comment of option %s has %d sentences that begin with \"Default\"; it must have one, which states the default", f.name, name, len(def))
		}
		what, err := f.inline(withoutName(sents[0], name))
		if err != nil {
			return fmt.Errorf("%s: option %s: %w", f.name, name, err)
		}
		dflt, err := f.inline(def[0])
		if err != nil {
			return fmt.Errorf("%s: option %s: %w", f.name, name, err)
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", code(f.file.Name.Name+"."+name+"("+params(fd)+")"), dflt, what)
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: no function returns %s", f.name, optType)
	}
	return nil
}

// envTable writes the table of the environment variables declared in the
// file (constants named Env...), with the first sentence of each one's
// doc comment.
func (f *optionsFile) envTable(b *bytes.Buffer) error {
	b.WriteString("| Environment variable | What it does |\n|---|---|\n")
	n := 0
	for _, decl := range f.file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for _, id := range vs.Names {
				if !strings.HasPrefix(id.Name, "Env") || !id.IsExported() {
					continue
				}
				sents := sentences(vs.Doc.Text())
				if len(sents) == 0 {
					return fmt.Errorf("%s: %s has no doc comment", f.name, id.Name)
				}
				v, err := f.consts.value(f.dir, id.Name)
				if err != nil {
					return err
				}
				what, err := f.inline(withoutName(sents[0], id.Name))
				if err != nil {
					return fmt.Errorf("%s: %s: %w", f.name, id.Name, err)
				}
				fmt.Fprintf(b, "| %s | %s |\n", code(v.String()), what)
				n++
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: no Env constants", f.name)
	}
	return nil
}

// cutDefault returns the rest of a sentence that states a default
// ("Default 5 s.", "Default: none, or ..."), without its final period.
func cutDefault(s string) (string, bool) {
	rest, ok := strings.CutPrefix(s, "Default")
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != ':') {
		return "", false
	}
	rest = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	return strings.TrimSuffix(rest, "."), true
}

// returns reports whether fd returns exactly one value, of type typ.
func returns(fset *token.FileSet, fd *ast.FuncDecl, typ string) bool {
	res := fd.Type.Results
	if res == nil || len(res.List) != 1 || len(res.List[0].Names) > 1 {
		return false
	}
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, res.List[0].Type); err != nil {
		return false
	}
	return b.String() == typ
}

// params lists fd's parameter names as a call shows them: "d",
// "scheme, credential", "acl...".
func params(fd *ast.FuncDecl) string {
	var names []string
	for _, field := range fd.Type.Params.List {
		_, variadic := field.Type.(*ast.Ellipsis)
		for _, n := range field.Names {
			if variadic {
				names = append(names, n.Name+"...")
			} else {
				names = append(names, n.Name)
			}
		}
	}
	return strings.Join(names, ", ")
}
