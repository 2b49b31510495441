package iacvalidate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sdkServices maps aws-sdk-go-v2 service import paths to IAM service prefixes.
var sdkServices = map[string]string{
	"github.com/aws/aws-sdk-go-v2/service/dynamodb":       "dynamodb",
	"github.com/aws/aws-sdk-go-v2/service/sqs":            "sqs",
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager": "secretsmanager",
}

// transactItemActions are the IAM actions a TransactWriteItems call needs,
// by the type of each item (types.Put, types.Update, …).
var transactItemActions = map[string]string{
	"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
}

// waiterOps are the operations the SDK's waiters poll.
var waiterOps = map[string]string{"TableExists": "DescribeTable", "TableNotExists": "DescribeTable"}

// PackageOps is what ScanOps found in one package: per function or method
// ("Name" or "Recv.Name"), the IAM actions ("dynamodb:PutItem") it can
// cause, directly or through calls to other functions of the package.
type PackageOps map[string][]string

// ScanOps parses the non-test Go files in dir and derives, for every
// function and method, the AWS API operations it can call (see the package
// documentation). Calls to methods are matched by name within the package,
// which over-approximates when two types share a method name.
func ScanOps(dir string) (PackageOps, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	direct := map[string]map[string]bool{} // func key → actions
	calls := map[string]map[string]bool{}  // func key → called names
	byName := map[string][]string{}        // bare name → func keys
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("iacvalidate: %w", err)
		}
		svc := map[string]string{}    // local import name → IAM prefix
		ddbTypes := map[string]bool{} // local names of dynamodb/types
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "github.com/aws/aws-sdk-go-v2/service/dynamodb/types" {
				local := "types"
				if imp.Name != nil {
					local = imp.Name.Name
				}
				ddbTypes[local] = true
			}
			if prefix, ok := sdkServices[p]; ok {
				local := filepath.Base(p)
				if imp.Name != nil {
					local = imp.Name.Name
				}
				svc[local] = prefix
			}
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			key := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				key = recvName(fd.Recv.List[0].Type) + "." + key
			}
			byName[fd.Name.Name] = append(byName[fd.Name.Name], key)
			acts, called := map[string]bool{}, map[string]bool{}
			direct[key], calls[key] = acts, called
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					id, ok := n.X.(*ast.Ident)
					if !ok {
						return true
					}
					prefix, ok := svc[id.Name]
					if !ok {
						return true
					}
					name := n.Sel.Name
					switch {
					case strings.HasSuffix(name, "Input") && name != "Input":
						op := strings.TrimSuffix(name, "Input")
						if op != "TransactWriteItems" {
							acts[prefix+":"+op] = true
						}
					case strings.HasPrefix(name, "New") && strings.HasSuffix(name, "Paginator"):
						acts[prefix+":"+strings.TrimSuffix(strings.TrimPrefix(name, "New"), "Paginator")] = true
					case strings.HasPrefix(name, "New") && strings.HasSuffix(name, "Waiter"):
						if op, ok := waiterOps[strings.TrimSuffix(strings.TrimPrefix(name, "New"), "Waiter")]; ok {
							acts[prefix+":"+op] = true
						}
					}
				case *ast.CompositeLit:
					// types.Put, types.Update, types.Delete and
					// types.ConditionCheck only exist as items of a
					// transaction.
					if sel, ok := n.Type.(*ast.SelectorExpr); ok {
						if id, ok := sel.X.(*ast.Ident); ok && ddbTypes[id.Name] && transactItemActions[sel.Sel.Name] != "" {
							acts["dynamodb:"+transactItemActions[sel.Sel.Name]] = true
						}
					}
				case *ast.CallExpr:
					switch fn := n.Fun.(type) {
					case *ast.Ident:
						called[fn.Name] = true
					case *ast.SelectorExpr:
						called[fn.Sel.Name] = true
					}
				}
				return true
			})
		}
	}
	out := PackageOps{}
	for key := range direct {
		seen, acts := map[string]bool{}, map[string]bool{}
		var visit func(k string)
		visit = func(k string) {
			if seen[k] {
				return
			}
			seen[k] = true
			for a := range direct[k] {
				acts[a] = true
			}
			for name := range calls[k] {
				for _, callee := range byName[name] {
					visit(callee)
				}
			}
		}
		visit(key)
		out[key] = sortedKeys(acts)
	}
	return out, nil
}

func recvName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return recvName(t.X)
	case *ast.IndexExpr:
		return recvName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

// InterfaceMethods returns the method names of the interface type named
// typeName declared in the non-test Go files of dir, including methods of
// embedded interfaces declared in the same package.
func InterfaceMethods(dir, typeName string) ([]string, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	ifaces := map[string]*ast.InterfaceType{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("iacvalidate: %w", err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if it, ok := ts.Type.(*ast.InterfaceType); ok {
					ifaces[ts.Name.Name] = it
				}
			}
			return true
		})
	}
	methods := map[string]bool{}
	var collect func(name string) error
	collect = func(name string) error {
		it, ok := ifaces[name]
		if !ok {
			return fmt.Errorf("iacvalidate: no interface %s in %s", name, dir)
		}
		for _, m := range it.Methods.List {
			if len(m.Names) > 0 {
				for _, n := range m.Names {
					methods[n.Name] = true
				}
				continue
			}
			if id, ok := m.Type.(*ast.Ident); ok {
				if err := collect(id.Name); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := collect(typeName); err != nil {
		return nil, err
	}
	return sortedKeys(methods), nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
