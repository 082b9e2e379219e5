package notify

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maxComplexity is the highest cyclomatic complexity a function of this
// package may have (issue 14: the dispatcher is a pipeline of small
// stages a reader can follow).
const maxComplexity = 20

// cyclomatic is the gocyclo measure: 1 + one per if, for, range, case,
// comm clause, && and ||.
func cyclomatic(fn ast.Node) int {
	n := 1
	ast.Inspect(fn, func(x ast.Node) bool {
		switch x := x.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			n++
		case *ast.CaseClause:
			if x.List != nil { // default does not count
				n++
			}
		case *ast.CommClause:
			if x.Comm != nil {
				n++
			}
		case *ast.BinaryExpr:
			if x.Op == token.LAND || x.Op == token.LOR {
				n++
			}
		}
		return true
	})
	return n
}

type funcComplexity struct {
	name string
	pos  token.Position
	n    int
}

// packageComplexity measures every function (and method) of the
// package's non-test files in dir.
func packageComplexity(t *testing.T, dir string) []funcComplexity {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []funcComplexity
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) > 0 {
				name = recvName(fd.Recv.List[0].Type) + "." + name
			}
			out = append(out, funcComplexity{name: name, pos: fset.Position(fd.Pos()), n: cyclomatic(fd)})
		}
	}
	slices.SortFunc(out, func(a, b funcComplexity) int { return b.n - a.n })
	return out
}

func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	case *ast.IndexExpr:
		return recvName(e.X)
	}
	return "?"
}

// TestCyclomaticComplexity keeps every function of internal/notify at or
// below maxComplexity, so CI enforces it without extra tools.
func TestCyclomaticComplexity(t *testing.T) {
	fs := packageComplexity(t, ".")
	for _, f := range fs {
		if f.n > maxComplexity {
			t.Errorf("%s: %s has cyclomatic complexity %d (max %d): split it into smaller steps", f.pos, f.name, f.n, maxComplexity)
		}
	}
	for _, f := range fs[:min(5, len(fs))] {
		t.Logf("%3d %s", f.n, f.name)
	}
}

func TestCyclomaticCounts(t *testing.T) {
	src := `package p
func f(a, b bool, c []int, ch chan int) {
	if a && b || !a { }
	for range c { }
	for i := 0; i < 1; i++ { }
	switch { case a: case b: default: }
	select { case <-ch: default: }
}`
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 1 + if + && + || + range + for + 2 cases + 1 comm case = 9
	if got := cyclomatic(af.Decls[0]); got != 9 {
		t.Fatalf("complexity = %d, want 9", got)
	}
}
