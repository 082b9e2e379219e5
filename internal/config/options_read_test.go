package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
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

// configPkg is the import path of this package.
const configPkg = "github.com/sfmcwatch/sfmcwatch/internal/config"

// listedPackage is the part of `go list -json` this test reads.
type listedPackage struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
	Standard   bool
	Module     *struct{ Path string }
}

// readFields type-checks every non-test package of the module and returns
// the config struct fields ("Type.Field") read by its code: any selector
// expression on the field that is not the target of an assignment. Inside
// internal/config only exported functions and methods other than the
// decoder's count (Damping, Location, CallPlan …): the decoder and the
// validation read every key without giving it an effect.
func readFields(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"list", "-export", "-deps", "-json"}
	if raceBuild {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./...")...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	var own []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && p.Module.Path == "github.com/sfmcwatch/sfmcwatch" {
			own = append(own, p)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	// owners maps each field of a config struct to "Type.Field", for the
	// config package as imported (export data) and as checked from source.
	owners := map[*types.Var]string{}
	index := func(pkg *types.Package) {
		for _, name := range pkg.Scope().Names() {
			tn, ok := pkg.Scope().Lookup(name).(*types.TypeName)
			if !ok {
				continue
			}
			st, ok := tn.Type().Underlying().(*types.Struct)
			if !ok {
				continue
			}
			for f := range st.Fields() {
				owners[f] = name + "." + f.Name()
			}
		}
	}
	cp, err := imp.Import(configPkg)
	if err != nil {
		t.Fatal(err)
	}
	index(cp)
	read := map[string][]string{}
	for _, p := range own {
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp, Error: func(error) {}}
		pkg, err := conf.Check(p.ImportPath, fset, files, info)
		if err != nil {
			t.Fatalf("type-check %s: %v", p.ImportPath, err)
		}
		inConfig := p.ImportPath == configPkg
		if inConfig {
			index(pkg)
		}
		for _, f := range files {
			file := filepath.Base(fset.Position(f.Pos()).Filename)
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
					sel := info.Selections[se]
					if sel == nil || sel.Kind() != types.FieldVal {
						return true
					}
					if owner, ok := owners[sel.Obj().(*types.Var)]; ok {
						where := strings.TrimPrefix(p.ImportPath, "github.com/sfmcwatch/sfmcwatch/") + "/" + file
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
	if testing.Short() {
		t.Skip("type-checks the module")
	}
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
