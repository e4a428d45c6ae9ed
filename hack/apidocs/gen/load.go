// Package gen writes a Markdown reference of a Kubernetes API package (kubebuilder style) from
// its Go source: each kind, every type reachable from it, each field with its JSON name, type,
// whether it is required, its doc comment and its validation markers in short. It reads the
// source with go/parser and go/doc only, so it needs neither a build of the package nor
// controller-gen, and the same source always gives the same page.
package gen

import (
	"cmp"
	"errors"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Package is an API package: its kinds and the types they use.
type Package struct {
	Name    string // Go package name, which is also the API version
	Group   string // from +groupName
	Doc     string
	Kinds   []*Type          // root types with a spec (lists excluded), in the order Load was given
	Types   map[string]*Type // every exported type by name
	Consts  []ConstGroup     // untyped constant groups (typed ones are on their type)
	imports map[string]string
}

// Type is a named type of the package.
type Type struct {
	Name       string
	Doc        string
	Markers    Markers // from the doc comment and the marker block above it
	Underlying *TypeRef
	Fields     []Field // struct types only; embedded inline structs are flattened
	Values     []Const // typed constants, such as the values of an enum
}

// Root reports whether the type is a kind or a list of one (+kubebuilder:object:root=true).
func (t *Type) Root() bool {
	v, ok := t.Markers.Value("kubebuilder:object:root")
	return ok && v != "false"
}

// Field is one JSON field of a struct type.
type Field struct {
	JSONName string
	GoName   string
	Type     *TypeRef
	Doc      string
	Markers  Markers
	Required bool
	// TypeMeta marks an embedded metav1.TypeMeta: it stands for apiVersion and kind.
	TypeMeta bool
}

// TypeRef is a field's type: a builtin, a type of this package, a type of another package, or a
// list or map of one.
type TypeRef struct {
	Builtin string   // string, int32, bool, ...
	Local   string   // a type of this package
	Pkg     string   // import path of an external type; Name is its name
	Name    string   // external type name
	Elem    *TypeRef // list and map element
	Map     bool     // map[string]Elem (Elem set); otherwise Elem set means a list
}

// ConstGroup is one const ( ... ) block.
type ConstGroup struct {
	Doc    string
	Values []Const
}

// Const is one constant and its value.
type Const struct {
	GoName string
	Value  string // unquoted for string constants, else the Go expression
	Doc    string
}

// Load reads the non-test, non-generated Go files of dir. kindOrder lists kinds that come first,
// in that order (each must exist); the other kinds follow by name.
func Load(dir string, kindOrder []string) (*Package, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, "zz_generated") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	// The marker block above a kind's doc comment is not part of the doc go/doc keeps; find it
	// before go/doc trims the files.
	above := markerBlocksAbove(fset, files)
	dp, err := doc.NewFromFiles(fset, files, "api")
	if err != nil {
		return nil, err
	}
	l := &loader{fset: fset, p: &Package{Name: dp.Name, Types: map[string]*Type{}, imports: map[string]string{}}}
	for _, f := range files {
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			name := filepath.Base(path)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			if prev, ok := l.p.imports[name]; ok && prev != path {
				return nil, fmt.Errorf("import name %s means both %s and %s", name, prev, path)
			}
			l.p.imports[name] = path
		}
	}
	prose, pkgMarkers := splitDoc(dp.Doc)
	l.p.Doc = prose
	for _, line := range pkgMarkers {
		if m, err := parseMarker(line); err == nil && m.Name == "groupName" {
			l.p.Group = m.Value
		}
	}
	for _, dt := range dp.Types {
		t, err := l.loadType(dt, above[dt.Name])
		if err != nil {
			return nil, fmt.Errorf("type %s: %w", dt.Name, err)
		}
		l.p.Types[t.Name] = t
	}
	for _, v := range dp.Consts {
		l.p.Consts = append(l.p.Consts, l.constGroup(v))
	}
	// Flattening needs every type loaded.
	for _, t := range l.p.Types {
		if t.Fields, err = l.flatten(t.Fields, map[string]bool{t.Name: true}); err != nil {
			return nil, fmt.Errorf("type %s: %w", t.Name, err)
		}
	}
	if err := l.orderKinds(kindOrder); err != nil {
		return nil, err
	}
	return l.p, nil
}

type loader struct {
	fset *token.FileSet
	p    *Package
}

// markerBlocksAbove returns, per type name, the marker lines of the comment block that ends one
// blank line above the type's doc comment (where kubebuilder puts object:root, resource and
// printcolumn markers).
func markerBlocksAbove(fset *token.FileSet, files []*ast.File) map[string][]string {
	out := map[string][]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE || len(gd.Specs) != 1 {
				continue
			}
			start := gd.Pos()
			if gd.Doc != nil {
				start = gd.Doc.Pos()
			}
			line := fset.Position(start).Line
			for _, cg := range f.Comments {
				if fset.Position(cg.End()).Line == line-2 {
					_, ms := splitDoc(cg.Text())
					out[gd.Specs[0].(*ast.TypeSpec).Name.Name] = ms
				}
			}
		}
	}
	return out
}

func (l *loader) pos(n ast.Node) string {
	p := l.fset.Position(n.Pos())
	return fmt.Sprintf("%s:%d", p.Filename, p.Line)
}

func (l *loader) markers(n ast.Node, lines []string) (Markers, error) {
	var ms Markers
	for _, line := range lines {
		m, err := parseMarker(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.pos(n), err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func (l *loader) loadType(dt *doc.Type, above []string) (*Type, error) {
	ts := dt.Decl.Specs[0].(*ast.TypeSpec)
	prose, lines := splitDoc(dt.Doc)
	ms, err := l.markers(ts, append(slices.Clone(above), lines...))
	if err != nil {
		return nil, err
	}
	t := &Type{Name: dt.Name, Doc: prose, Markers: ms}
	for _, v := range dt.Consts {
		t.Values = append(t.Values, l.constGroup(v).Values...)
	}
	st, ok := ts.Type.(*ast.StructType)
	if !ok {
		t.Underlying, err = l.typeRef(ts.Type)
		return t, err
	}
	for _, f := range st.Fields.List {
		field, skip, err := l.loadField(f)
		if err != nil {
			return nil, err
		}
		if !skip {
			t.Fields = append(t.Fields, field)
		}
	}
	return t, nil
}

// loadField reads a struct field. An embedded field whose JSON is inlined comes back with an
// empty JSONName, for flatten to replace by the embedded type's fields.
func (l *loader) loadField(f *ast.Field) (_ Field, skip bool, err error) {
	tag := ""
	if f.Tag != nil {
		raw, _ := strconv.Unquote(f.Tag.Value)
		tag = reflect.StructTag(raw).Get("json")
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "-" && opts == "" {
		return Field{}, true, nil
	}
	ref, err := l.typeRef(f.Type)
	if err != nil {
		return Field{}, false, fmt.Errorf("%s: %w", l.pos(f), err)
	}
	goName := ""
	if len(f.Names) > 0 {
		goName = f.Names[0].Name
		if !ast.IsExported(goName) {
			return Field{}, true, nil
		}
	}
	prose, lines := splitDoc(f.Doc.Text())
	ms, err := l.markers(f, lines)
	if err != nil {
		return Field{}, false, err
	}
	field := Field{GoName: goName, Type: ref, Doc: prose, Markers: ms}
	inline := slices.Contains(strings.Split(opts, ","), "inline") || (goName == "" && name == "")
	if goName == "" && inline {
		field.TypeMeta = ref.Name == "TypeMeta"
		return field, false, nil
	}
	if goName == "" {
		goName = cmp.Or(ref.Local, ref.Name)
		field.GoName = goName
	}
	field.JSONName = cmp.Or(name, goName)
	omitempty := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
	switch {
	case ms.Has("required") || ms.Has("kubebuilder:validation:Required"):
		field.Required = true
	case ms.Has("optional") || ms.Has("kubebuilder:validation:Optional"):
		field.Required = false
	default:
		field.Required = !omitempty
	}
	return field, false, nil
}

// flatten replaces embedded inline fields of this package's struct types by their fields.
func (l *loader) flatten(fields []Field, seen map[string]bool) ([]Field, error) {
	var out []Field
	for _, f := range fields {
		if f.JSONName != "" || f.TypeMeta || f.Type.Local == "" {
			out = append(out, f)
			continue
		}
		if seen[f.Type.Local] {
			return nil, fmt.Errorf("embedded type %s includes itself", f.Type.Local)
		}
		inner, ok := l.p.Types[f.Type.Local]
		if !ok {
			return nil, fmt.Errorf("embedded type %s is not an exported type of the package", f.Type.Local)
		}
		inSeen := maps.Clone(seen)
		inSeen[f.Type.Local] = true
		sub, err := l.flatten(inner.Fields, inSeen)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

func (l *loader) typeRef(e ast.Expr) (*TypeRef, error) {
	switch e := e.(type) {
	case *ast.StarExpr:
		return l.typeRef(e.X)
	case *ast.Ident:
		if types.Universe.Lookup(e.Name) != nil {
			return &TypeRef{Builtin: e.Name}, nil
		}
		return &TypeRef{Local: e.Name}, nil
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		if !ok {
			return nil, fmt.Errorf("unsupported type %s", types.ExprString(e))
		}
		path, ok := l.p.imports[x.Name]
		if !ok {
			return nil, fmt.Errorf("type %s: package %s is not imported", types.ExprString(e), x.Name)
		}
		return &TypeRef{Pkg: path, Name: e.Sel.Name}, nil
	case *ast.ArrayType:
		elem, err := l.typeRef(e.Elt)
		if err != nil {
			return nil, err
		}
		if elem.Builtin == "byte" {
			return &TypeRef{Builtin: "[]byte"}, nil
		}
		return &TypeRef{Elem: elem}, nil
	case *ast.MapType:
		if k, ok := e.Key.(*ast.Ident); !ok || k.Name != "string" {
			return nil, fmt.Errorf("map key %s: JSON objects have string keys", types.ExprString(e.Key))
		}
		elem, err := l.typeRef(e.Value)
		if err != nil {
			return nil, err
		}
		return &TypeRef{Elem: elem, Map: true}, nil
	}
	return nil, fmt.Errorf("unsupported type %s", types.ExprString(e))
}

func (l *loader) constGroup(v *doc.Value) ConstGroup {
	g := ConstGroup{Doc: strings.TrimSpace(v.Doc)}
	for _, spec := range v.Decl.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, n := range vs.Names {
			if !ast.IsExported(n.Name) || i >= len(vs.Values) {
				continue
			}
			value := types.ExprString(vs.Values[i])
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				value, _ = strconv.Unquote(lit.Value)
			}
			g.Values = append(g.Values, Const{GoName: n.Name, Value: value, Doc: strings.TrimSpace(vs.Doc.Text())})
		}
	}
	return g
}

// orderKinds picks the kinds (root types with a spec field) and orders them.
func (l *loader) orderKinds(order []string) error {
	var kinds []*Type
	for _, t := range l.p.Types {
		if t.Root() && slices.ContainsFunc(t.Fields, func(f Field) bool { return f.JSONName == "spec" }) {
			kinds = append(kinds, t)
		}
	}
	rank := func(t *Type) int {
		if i := slices.Index(order, t.Name); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(kinds, func(a, b *Type) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a.Name, b.Name)) })
	var errs []error
	for _, name := range order {
		if !slices.ContainsFunc(kinds, func(t *Type) bool { return t.Name == name }) {
			errs = append(errs, fmt.Errorf("kind %s is not in the package (a kind is a +kubebuilder:object:root=true type with a spec field)", name))
		}
	}
	l.p.Kinds = kinds
	return errors.Join(errs...)
}
