package tetrate

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The rules the TinyGo glue lives by, checked on its source since TinyGo is
// not here to run it:
//   - no recover: TinyGo's wasm targets have none (compiler/defer.go);
//   - SDK calls that return host memory only in hostmem.go's table, where the
//     tests count them;
//   - SDK calls that panic on a host error only in metrics.go, behind checks.
func TestGlueRules(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	files = append(files, filepath.Join("..", "..", "start_tinygo.go"))
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		base := filepath.Base(name)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "recover" {
					t.Errorf("%s: recover does nothing on TinyGo's wasm targets", fset.Position(n.Pos()))
				}
			case *ast.SelectorExpr:
				if pkg, ok := n.X.(*ast.Ident); !ok || pkg.Name != "proxywasm" {
					return true
				}
				switch sel := n.Sel.Name; {
				case returnsHostMemory(sel) && base != "hostmem.go":
					t.Errorf("%s: proxywasm.%s returns host memory: call it through hostCalls", fset.Position(n.Pos()), sel)
				case panicsOnHostError(sel) && base != "metrics.go":
					t.Errorf("%s: proxywasm.%s panics on a host error: keep it in metrics.go, behind checks", fset.Position(n.Pos()), sel)
				}
			}
			return true
		})
	}
	if checked < 6 {
		t.Fatalf("checked %d files", checked)
	}
}

func returnsHostMemory(name string) bool {
	return strings.HasPrefix(name, "Get") || name == "CallForeignFunction" || name == "DequeueSharedQueue"
}

func panicsOnHostError(name string) bool {
	return strings.HasPrefix(name, "Define") || strings.HasPrefix(name, "Metric")
}
