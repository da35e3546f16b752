package gendocs

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// constants evaluates the constants of the module's packages as far as
// the documents need them: literals, constants of the same or another
// package of the module, time units, conversions to time.Duration,
// arithmetic and parentheses. Anything else is an error, never a guess.
type constants struct {
	root string
	fset *token.FileSet
	pkgs map[string]*constPkg // by directory, relative to root
}

// constPkg holds one package's constants.
type constPkg struct {
	dir   string
	specs map[string]constSpec
	vals  map[string]constValue
	busy  map[string]bool // being evaluated: a cycle otherwise
}

// constSpec is one constant's declaration.
type constSpec struct {
	expr    ast.Expr          // nil when implicit (iota repetition)
	imports map[string]string // of its file: local name → import path
}

// constValue is an evaluated constant.
type constValue struct {
	val      constant.Value
	duration bool // of type time.Duration
}

func newConstants(root string) *constants {
	return &constants{root: root, fset: token.NewFileSet(), pkgs: map[string]*constPkg{}}
}

// pkg parses the package in dir (relative to the root), once.
func (c *constants) pkg(dir string) (*constPkg, error) {
	if p := c.pkgs[dir]; p != nil {
		return p, nil
	}
	p := &constPkg{dir: dir, specs: map[string]constSpec{}, vals: map[string]constValue{}, busy: map[string]bool{}}
	entries, err := os.ReadDir(filepath.Join(c.root, dir))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(c.fset, filepath.Join(c.root, dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		imports := fileImports(f)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					var expr ast.Expr
					if i < len(vs.Values) {
						expr = vs.Values[i]
					}
					if vs.Type != nil && expr != nil && isDurationType(vs.Type, imports) {
						expr = &ast.CallExpr{Fun: vs.Type, Args: []ast.Expr{expr}}
					}
					p.specs[n.Name] = constSpec{expr: expr, imports: imports}
				}
			}
		}
	}
	c.pkgs[dir] = p
	return p, nil
}

// fileImports maps the local names of f's imports to their paths.
func fileImports(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		m[name] = p
	}
	return m
}

// isDurationType reports whether t names time.Duration.
func isDurationType(t ast.Expr, imports map[string]string) bool {
	sel, ok := t.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && imports[x.Name] == "time" && sel.Sel.Name == "Duration"
}

// value returns the value of constant name of the package in dir.
func (c *constants) value(dir, name string) (constValue, error) {
	p, err := c.pkg(dir)
	if err != nil {
		return constValue{}, err
	}
	if v, ok := p.vals[name]; ok {
		return v, nil
	}
	spec, ok := p.specs[name]
	if !ok {
		return constValue{}, fmt.Errorf("no constant %s in %s", name, dir)
	}
	if spec.expr == nil {
		return constValue{}, fmt.Errorf("constant %s in %s has an implicit value", name, dir)
	}
	if p.busy[name] {
		return constValue{}, fmt.Errorf("constant %s in %s refers to itself", name, dir)
	}
	p.busy[name] = true
	defer delete(p.busy, name)
	v, err := c.eval(dir, spec, spec.expr)
	if err != nil {
		return constValue{}, fmt.Errorf("constant %s in %s: %w", name, dir, err)
	}
	p.vals[name] = v
	return v, nil
}

// timeUnits are the constants of package time that the sources use.
var timeUnits = map[string]time.Duration{
	"Nanosecond": time.Nanosecond, "Microsecond": time.Microsecond, "Millisecond": time.Millisecond,
	"Second": time.Second, "Minute": time.Minute, "Hour": time.Hour,
}

// eval evaluates e, an expression of a constant of the package in dir.
func (c *constants) eval(dir string, spec constSpec, e ast.Expr) (constValue, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		v := constant.MakeFromLiteral(e.Value, e.Kind, 0)
		if v.Kind() == constant.Unknown {
			return constValue{}, fmt.Errorf("bad literal %s", e.Value)
		}
		return constValue{val: v}, nil
	case *ast.Ident:
		switch e.Name {
		case "true", "false":
			return constValue{val: constant.MakeBool(e.Name == "true")}, nil
		}
		return c.value(dir, e.Name)
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		if !ok {
			break
		}
		imp := spec.imports[x.Name]
		if imp == "time" {
			d, ok := timeUnits[e.Sel.Name]
			if !ok {
				break
			}
			return constValue{val: constant.MakeInt64(int64(d)), duration: true}, nil
		}
		if rel, ok := moduleDir(imp); ok {
			return c.value(rel, e.Sel.Name)
		}
	case *ast.ParenExpr:
		return c.eval(dir, spec, e.X)
	case *ast.UnaryExpr:
		x, err := c.eval(dir, spec, e.X)
		if err != nil {
			return constValue{}, err
		}
		return constValue{val: constant.UnaryOp(e.Op, x.val, 0), duration: x.duration}, nil
	case *ast.BinaryExpr:
		x, err := c.eval(dir, spec, e.X)
		if err != nil {
			return constValue{}, err
		}
		y, err := c.eval(dir, spec, e.Y)
		if err != nil {
			return constValue{}, err
		}
		op := e.Op
		if op == token.QUO && x.val.Kind() == constant.Int && y.val.Kind() == constant.Int {
			op = token.QUO_ASSIGN // integer division, as Go does for integer constants
		}
		v := constant.BinaryOp(x.val, op, y.val)
		if v.Kind() == constant.Unknown {
			return constValue{}, fmt.Errorf("cannot evaluate %s", exprKind(e))
		}
		return constValue{val: v, duration: x.duration || y.duration}, nil
	case *ast.CallExpr:
		if len(e.Args) == 1 && isDurationType(e.Fun, spec.imports) {
			x, err := c.eval(dir, spec, e.Args[0])
			if err != nil {
				return constValue{}, err
			}
			return constValue{val: x.val, duration: true}, nil
		}
	}
	return constValue{}, fmt.Errorf("cannot evaluate %s", exprKind(e))
}

// exprKind names an expression's syntax, for errors.
func exprKind(e ast.Expr) string { return fmt.Sprintf("%T", e) }

// moduleDir returns the directory, relative to the module root, of a
// package of the module.
func moduleDir(importPath string) (string, bool) {
	if importPath == ModulePath {
		return ".", true
	}
	rel, ok := strings.CutPrefix(importPath, ModulePath+"/")
	return rel, ok
}

// String formats v as the documents show it: a duration as Go prints it
// without zero units (10m, not 10m0s), a string as it is, anything else
// as Go would write the constant.
func (v constValue) String() string {
	switch {
	case v.duration:
		n, ok := constant.Int64Val(v.val)
		if !ok {
			return v.val.ExactString()
		}
		return formatDuration(time.Duration(n))
	case v.val.Kind() == constant.String:
		return constant.StringVal(v.val)
	}
	return v.val.ExactString()
}

// formatDuration is d.String() without trailing zero units.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// matches reports whether text, how a doc comment restates the value (in
// words: "10 s", "10 min", "\"/micro-registry\"", "64"), says v.
func (v constValue) matches(text string) bool {
	text = strings.TrimSpace(text)
	switch {
	case v.duration:
		s := strings.ReplaceAll(text, " ", "")
		s = strings.Replace(s, "min", "m", 1)
		d, err := time.ParseDuration(s)
		n, ok := constant.Int64Val(v.val)
		return err == nil && ok && int64(d) == n
	case v.val.Kind() == constant.String:
		if s, err := strconv.Unquote(text); err == nil {
			text = s
		}
		return text == constant.StringVal(v.val)
	}
	return text == v.val.ExactString()
}
