package config

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// unreadAllowlist names the options whose Go field is not read by any
// non-test code outside the decoder and whose effect effects() cannot show
// in a unit test, each with the reason it still has one. Reviewed: an entry
// needs a reason a reader can check. Empty: every key is read or shown.
var unreadAllowlist = map[string]string{}

// modulePath is the module's import path; configPkg this package's.
const (
	modulePath = "github.com/sfmcwatch/sfmcwatch"
	configPkg  = modulePath + "/internal/config"
)

// srcImporter type-checks the module's packages from source. Packages
// outside the module (the standard library, dependencies) are empty
// stand-ins: expressions that need them do not type-check (the errors are
// ignored), but every selector on a config struct reached through the
// module's own types does — without compiling anything, so the check costs
// seconds with a cold build cache and under -race.
type srcImporter struct {
	fset  *token.FileSet
	root  string
	info  *types.Info
	pkgs  map[string]*types.Package
	files map[string][]*ast.File
}

func (s *srcImporter) Import(path string) (*types.Package, error) {
	if p, ok := s.pkgs[path]; ok {
		return p, nil
	}
	if path != modulePath && !strings.HasPrefix(path, modulePath+"/") {
		p := types.NewPackage(path, filepath.Base(path))
		p.MarkComplete()
		s.pkgs[path] = p
		return p, nil
	}
	dir := filepath.Join(s.root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(path, modulePath), "/")))
	bp, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(s.fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: s, Error: func(error) {}}
	p, _ := conf.Check(path, s.fset, files, s.info) // errors: the stand-ins
	s.pkgs[path], s.files[path] = p, files
	return p, nil
}

// readFields type-checks every non-test package of the module and returns
// the config struct fields ("Type.Field") read by its code, with the files
// reading them: any selector expression on the field that is not the
// target of an assignment. Inside internal/config only exported functions
// and methods other than the decoder's count (Damping, Location, CallPlan
// …): the decoder and the validation read every key without giving it an
// effect.
func readFields(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	imp := &srcImporter{fset: token.NewFileSet(), root: root, info: &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}},
		pkgs: map[string]*types.Package{}, files: map[string][]*ast.File{}}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		ip := modulePath
		if rel != "." {
			ip += "/" + filepath.ToSlash(rel)
		}
		if _, err := imp.Import(ip); err != nil {
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				return nil
			}
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.files) < 30 || imp.files[configPkg] == nil {
		t.Fatalf("only %d packages of the module type-checked", len(imp.files))
	}
	// owners maps each field of a config struct to "Type.Field".
	owners := map[*types.Var]string{}
	cp := imp.pkgs[configPkg]
	for _, name := range cp.Scope().Names() {
		tn, ok := cp.Scope().Lookup(name).(*types.TypeName)
		if !ok {
			continue
		}
		if st, ok := tn.Type().Underlying().(*types.Struct); ok {
			for f := range st.Fields() {
				owners[f] = name + "." + f.Name()
			}
		}
	}
	read := map[string][]string{}
	for _, path := range slices.Sorted(maps.Keys(imp.files)) {
		files := imp.files[path]
		inConfig := path == configPkg
		for _, f := range files {
			file := filepath.Base(imp.fset.Position(f.Pos()).Filename)
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if inConfig && (!ok || !fd.Name.IsExported() || isDecoderMethod(fd)) {
					continue
				}
				writes := assigned(d)
				ast.Inspect(d, func(n ast.Node) bool {
					se, ok := n.(*ast.SelectorExpr)
					if !ok || writes[se] {
						return true
					}
					sel := imp.info.Selections[se]
					if sel == nil || sel.Kind() != types.FieldVal {
						return true
					}
					if owner, ok := owners[sel.Obj().(*types.Var)]; ok {
						where := strings.TrimPrefix(path, modulePath+"/") + "/" + file
						if !slices.Contains(read[owner], where) {
							read[owner] = append(read[owner], where)
						}
					}
					return true
				})
			}
		}
	}
	return read
}

func isDecoderMethod(fd *ast.FuncDecl) bool {
	if fd.Recv == nil || len(fd.Recv.List) != 1 {
		return false
	}
	star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "decoder"
}

// assigned returns the selectors written (x.F = …, x.F++, x.F += …) in n.
func assigned(n ast.Node) map[*ast.SelectorExpr]bool {
	out := map[*ast.SelectorExpr]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.ASSIGN || s.Tok == token.DEFINE {
				for _, l := range s.Lhs {
					if se, ok := l.(*ast.SelectorExpr); ok {
						out[se] = true
					}
				}
			}
		case *ast.IncDecStmt:
			if se, ok := s.X.(*ast.SelectorExpr); ok {
				out[se] = true
			}
		}
		return true
	})
	return out
}

// TestEveryOptionIsRead: every key of the config is read by code that acts
// on it — a key accepted, validated and documented but never consulted
// does nothing. A key whose effect comes another way (reflection, the
// decoder itself) needs an entry in unreadAllowlist with its reason; an
// entry for a key that is now read, or no longer exists, is an error too,
// so the list stays reviewed.
func TestEveryOptionIsRead(t *testing.T) {
	read := readFields(t)
	effs := effects()
	paths := map[string]bool{}
	for _, o := range walkOptions() {
		paths[o.Path] = true
		key := o.Owner + "." + o.Field
		if o.Block {
			// Its keys are checked one by one. The block itself must be
			// read too when its type is shared (two rules with the same
			// settings type): a rule block whose own settings nothing
			// selects does nothing even though the type's fields are read
			// for its sibling. Blocks reached by reflection are checked by
			// the behaviour tests: monitors (Monitors.Each, Get) and rule
			// blocks with only the common keys (Rules.Rule by id).
			if o.Owner == "Monitors" || o.Owner == "Config" || len(read[key]) > 0 {
				continue
			}
			if o.Owner == "Rules" && reflect.ValueOf(DefaultRules()).FieldByName(o.Field).Type() == reflect.TypeFor[RuleBase]() {
				continue
			}
			if _, allowed := unreadAllowlist[o.Path]; !allowed {
				t.Errorf("block %s (%s) is never read outside the decoder: its keys do nothing", o.Path, key)
			}
			continue
		}
		_, allowed := unreadAllowlist[o.Path]
		_, shown := effs[o.Path]
		switch {
		case len(read[key]) == 0 && !allowed && !shown:
			t.Errorf("%s (%s) is accepted but never read outside the decoder: wire it, refuse it with a validation error naming it, show its effect in effects(), or add it to unreadAllowlist with the reason it has an effect", o.Path, key)
		case len(read[key]) > 0 && allowed:
			t.Errorf("%s (%s) is read by %v: remove its unreadAllowlist entry", o.Path, key, read[key])
		}
	}
	for p, reason := range unreadAllowlist {
		if !paths[p] {
			t.Errorf("unreadAllowlist names %s, which is not a config key", p)
		}
		if strings.TrimSpace(reason) == "" {
			t.Errorf("unreadAllowlist entry %s has no reason", p)
		}
	}
}
