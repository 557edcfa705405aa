package guesses

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNothingBuiltAtStartup parses the package's own files and fails on anything that would make
// an idle process pay for the estimator: an init function, or a package-level variable that is a
// map or a slice, or is computed by a call. The word lists and graphs must stay in the embedded
// blob, read in place.
func TestNothingBuiltAtStartup(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == "init" {
					t.Errorf("%s: func init runs at start-up", fset.Position(d.Pos()))
				}
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, spec := range d.Specs {
					for _, problem := range startupCost(spec.(*ast.ValueSpec)) {
						t.Errorf("%s: package-level var %s", fset.Position(spec.Pos()), problem)
					}
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d files, want the package's sources", checked)
	}
}

// startupCost says what is wrong with a package-level variable: a map or slice type, or a value
// that calls a function or builds a map or slice.
func startupCost(v *ast.ValueSpec) []string {
	var problems []string
	// isMapOrSlice reports whether a type expression has a map or a slice anywhere in it.
	isMapOrSlice := func(e ast.Expr) bool {
		found := false
		ast.Inspect(e, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.MapType:
				found = true
			case *ast.ArrayType:
				found = found || n.Len == nil
			}
			return !found
		})
		return found
	}
	if v.Type != nil && isMapOrSlice(v.Type) {
		problems = append(problems, v.Names[0].Name+" is a map or a slice")
	}
	for _, value := range v.Values {
		ast.Inspect(value, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				problems = append(problems, v.Names[0].Name+" is computed by a call")
			case *ast.CompositeLit:
				if n.Type != nil && isMapOrSlice(n.Type) {
					problems = append(problems, v.Names[0].Name+" holds a map or slice literal")
				}
			}
			return true
		})
	}
	return problems
}

func TestStartupCostCatches(t *testing.T) {
	for _, src := range []string{
		"var m = map[string]int{}",
		"var s []string",
		"var d = build()",
		"var a = [2][]int{{1}, {2}}",
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package x\n"+src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := startupCost(f.Decls[0].(*ast.GenDecl).Specs[0].(*ast.ValueSpec)); len(got) == 0 {
			t.Errorf("startupCost(%q) = nothing, want a problem", src)
		}
	}
}

// TestStandardLibraryOnly checks that the package links nothing outside the standard library,
// and that the resetgate binary no longer links github.com/trustelem/zxcvbn, which builds its
// dictionaries in package init (about 7.5 MiB of heap).
func TestStandardLibraryOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "resetgate/reset/strength/guesses" {
		t.Errorf("package guesses depends on %q, want the standard library only", got)
	}
	out, err = exec.Command("go", "list", "-deps", "resetgate").Output()
	if err != nil {
		t.Fatalf("go list -deps resetgate: %v", err)
	}
	if !strings.Contains(string(out), "resetgate/reset/strength/guesses") {
		t.Errorf("the resetgate binary does not link package guesses: is this test looking at the right binary?")
	}
	if strings.Contains(string(out), "trustelem") {
		t.Errorf("the resetgate binary links github.com/trustelem/zxcvbn")
	}
}

// TestDataIsGenerated runs the generator into a temporary directory and compares its output with
// the files in the tree, so that the data cannot drift from its stated source or be edited by
// hand.
func TestDataIsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	dir := t.TempDir()
	if b, err := exec.Command("go", "run", "./internal/gen", "-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/gen: %v\n%s", err, b)
	}
	for _, name := range []string{"data/zxcvbn.bin", "layout_gen.go", "data/LICENSE"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what internal/gen writes: run go generate ./reset/strength/guesses", name)
		}
	}
	if !strings.Contains(string(mustRead(t, "data/LICENSE")), "Dropbox") {
		t.Errorf("data/LICENSE does not name Dropbox's zxcvbn")
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
