package gendocs

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// metricsDir is the package that describes the metrics, and metricsFile
// the file of their descriptions.
const (
	metricsDir  = "internal/zkmetrics"
	metricsFile = "collector.go"
)

// Metric is one metric as internal/zkmetrics describes it.
type Metric struct {
	Name   string   // full name: micro_registry_zookeeper_...
	Type   string   // counter, gauge, histogram or summary
	Help   string   // the description's help text
	Labels []string // variable labels, in order
}

// MetricsTable returns the metrics block of zkprom/README.md: a table of
// every metric with its type, labels and help, then what each label means.
func MetricsTable(root string) ([]byte, error) {
	ms, labels, err := metrics(root)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("| Metric | Type | Labels | Meaning |\n|---|---|---|---|\n")
	for _, m := range ms {
		var ls []string
		for _, l := range m.Labels {
			ls = append(ls, code(l))
		}
		help, err := inline(m.Help, noConsts)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", code(m.Name), m.Type, strings.Join(ls, ", "), help)
	}
	for _, l := range labels {
		fmt.Fprintf(&b, "\nLabel %s: %s\n", code(l.name), l.doc)
	}
	return b.Bytes(), nil
}

// Metrics returns the metrics internal/zkmetrics describes, in the order of
// its descriptions, as read from its source.
func Metrics(root string) ([]Metric, error) {
	ms, _, err := metrics(root)
	return ms, err
}

func noConsts(string) (constValue, bool) { return constValue{}, false }

// label is a variable label and what its constant's doc comment says.
type label struct{ name, doc string }

// metrics reads the metric descriptions of collector.go (the variables
// set with metricDesc(name, help, labels...)), their types (from what
// Collect sends for each), and the doc comments of the label constants.
func metrics(root string) ([]Metric, []label, error) {
	fset := token.NewFileSet()
	path := filepath.Join(root, metricsDir, metricsFile)
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	consts := newConstants(root)
	spec := constSpec{imports: fileImports(f)}
	str := func(e ast.Expr) (string, error) {
		v, err := consts.eval(metricsDir, spec, e)
		if err != nil {
			return "", err
		}
		if v.val.Kind() != constant.String {
			return "", fmt.Errorf("%s is not a string", v.val)
		}
		return constant.StringVal(v.val), nil
	}
	prefix := ""
	for _, c := range []string{"Namespace", "Subsystem"} {
		v, err := consts.value(metricsDir, c)
		if err != nil {
			return nil, nil, err
		}
		if s := constant.StringVal(v.val); s != "" {
			prefix += s + "_"
		}
	}

	var ms []Metric
	byVar := map[string]int{} // description variable → index in ms
	var labelIdents []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				call, ok := vs.Values[i].(*ast.CallExpr)
				if !ok || !isIdent(call.Fun, "metricDesc") {
					continue
				}
				if len(call.Args) < 2 {
					return nil, nil, fmt.Errorf("%s: %s: metricDesc needs a name and a help text", metricsFile, id.Name)
				}
				var m Metric
				name, err := str(call.Args[0])
				if err != nil {
					return nil, nil, fmt.Errorf("%s: name of %s: %w", metricsFile, id.Name, err)
				}
				m.Name = prefix + name
				if m.Help, err = str(call.Args[1]); err != nil {
					return nil, nil, fmt.Errorf("%s: help of %s: %w", metricsFile, id.Name, err)
				}
				for _, a := range call.Args[2:] {
					l, err := str(a)
					if err != nil {
						return nil, nil, fmt.Errorf("%s: label of %s: %w", metricsFile, id.Name, err)
					}
					m.Labels = append(m.Labels, l)
					if ident, ok := a.(*ast.Ident); ok && !slices.Contains(labelIdents, ident.Name) {
						labelIdents = append(labelIdents, ident.Name)
					}
				}
				byVar[id.Name] = len(ms)
				ms = append(ms, m)
			}
		}
	}
	if len(ms) == 0 {
		return nil, nil, fmt.Errorf("%s: no metricDesc(...) descriptions", metricsFile)
	}

	types, err := sentTypes(f)
	if err != nil {
		return nil, nil, err
	}
	for v, typ := range types {
		if i, ok := byVar[v]; ok {
			ms[i].Type = typ
		}
	}
	for v, i := range byVar {
		if ms[i].Type == "" {
			return nil, nil, fmt.Errorf("%s: Collect never sends %s (%s)", metricsFile, v, ms[i].Name)
		}
	}

	var labels []label
	for _, ident := range labelIdents {
		doc := constDoc(f, ident)
		if doc == "" {
			return nil, nil, fmt.Errorf("%s: label constant %s has no doc comment", metricsFile, ident)
		}
		v, err := consts.value(metricsDir, ident)
		if err != nil {
			return nil, nil, err
		}
		text, err := inline(withoutName(strings.Join(strings.Fields(doc), " "), ident), noConsts)
		if err != nil {
			return nil, nil, err
		}
		labels = append(labels, label{name: constant.StringVal(v.val), doc: text})
	}
	return ms, labels, nil
}

// sentTypes returns the type of each description variable, read from the
// Collect method: prometheus.MustNewConstMetric(desc, prometheus.CounterValue,
// ...) sends a counter, MustNewConstHistogram a histogram, and a local
// function that wraps one of them (counter := func(d *prometheus.Desc, ...))
// sends what it wraps.
func sentTypes(f *ast.File) (map[string]string, error) {
	var collect *ast.FuncDecl
	for _, decl := range f.Decls {
		if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv != nil && fd.Name.Name == "Collect" {
			collect = fd
		}
	}
	if collect == nil || collect.Body == nil {
		return nil, fmt.Errorf("%s: no Collect method", metricsFile)
	}
	// Local functions that send one type of metric.
	wrappers := map[string]string{}
	ast.Inspect(collect.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		id, ok1 := as.Lhs[0].(*ast.Ident)
		lit, ok2 := as.Rhs[0].(*ast.FuncLit)
		if !ok1 || !ok2 {
			return true
		}
		ast.Inspect(lit.Body, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if typ := sentType(call); typ != "" {
					wrappers[id.Name] = typ
				}
			}
			return true
		})
		return true
	})
	types := map[string]string{}
	var err error
	ast.Inspect(collect.Body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false // a wrapper: its calls send its parameter
		}
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 || err != nil {
			return err == nil
		}
		desc, ok := call.Args[0].(*ast.Ident)
		if !ok {
			return true
		}
		typ := sentType(call)
		if fn, ok := call.Fun.(*ast.Ident); ok && wrappers[fn.Name] != "" {
			typ = wrappers[fn.Name]
		}
		if typ == "" {
			return true
		}
		if prev, ok := types[desc.Name]; ok && prev != typ {
			err = fmt.Errorf("%s: Collect sends %s both as a %s and as a %s", metricsFile, desc.Name, prev, typ)
		}
		types[desc.Name] = typ
		return true
	})
	return types, err
}

// sentType returns the type of metric call makes, if it is one of
// prometheus's constructors of constant metrics.
func sentType(call *ast.CallExpr) string {
	switch {
	case isSelector(call.Fun, "prometheus", "MustNewConstMetric") && len(call.Args) >= 2:
		switch {
		case isSelector(call.Args[1], "prometheus", "CounterValue"):
			return "counter"
		case isSelector(call.Args[1], "prometheus", "GaugeValue"):
			return "gauge"
		case isSelector(call.Args[1], "prometheus", "UntypedValue"):
			return "untyped"
		}
	case isSelector(call.Fun, "prometheus", "MustNewConstHistogram"):
		return "histogram"
	case isSelector(call.Fun, "prometheus", "MustNewConstSummary"):
		return "summary"
	}
	return ""
}

// constDoc returns the doc comment of the constant name declared in f.
func constDoc(f *ast.File, name string) string {
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for _, id := range vs.Names {
				if id.Name != name {
					continue
				}
				if vs.Doc != nil {
					return vs.Doc.Text()
				}
				if len(gd.Specs) == 1 && gd.Doc != nil {
					return gd.Doc.Text()
				}
			}
		}
	}
	return ""
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && isIdent(sel.X, pkg) && sel.Sel.Name == name
}
