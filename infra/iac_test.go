// Package infra_test checks that the deployment configurations stay in step
// with the code: every function folder is deployed by both template.yaml
// (AWS SAM) and infra/tencent/serverless.yml, every deployed function exists,
// every environment variable the code reads is documented and declared, the
// template is valid for CloudFormation/SAM (infra/iacvalidate), and every
// function's IAM policy allows exactly the AWS calls its code can make.
package infra_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"wecom-crm-bot/infra/iacvalidate"
	"wecom-crm-bot/shared/config"
)

// repoRoot is where the test runs from: infra/.. .
const repoRoot = ".."

func TestDeploymentsMatchFunctions(t *testing.T) {
	checkDrift(t, repoRoot)
}

// checkDrift runs every check against the tree at root and reports each
// problem as a test error. It is shared with the drift tests, which break a
// temporary copy on purpose.
func checkDrift(t testing.TB, root string) {
	t.Helper()
	for _, p := range driftProblems(root) {
		t.Error(p)
	}
}

func driftProblems(root string) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	funcs := functionDirs(root)
	if len(funcs) == 0 {
		fail("no folders under functions/")
	}

	tpl, err := loadYAML(filepath.Join(root, "template.yaml"))
	if err != nil {
		return append(problems, err.Error())
	}
	sls, err := loadYAML(filepath.Join(root, "infra/tencent/serverless.yml"))
	if err != nil {
		return append(problems, err.Error())
	}
	makefile, _ := os.ReadFile(filepath.Join(root, "Makefile"))

	// Schema (goformation), references, wildcard actions, least privilege.
	if raw, err := os.ReadFile(filepath.Join(root, "template.yaml")); err != nil {
		fail("template.yaml: %v", err)
	} else if typed, err := iacvalidate.ParseTemplate(raw); err != nil {
		fail("template.yaml: %v", err)
	} else {
		problems = append(problems, typed.Problems()...)
		problems = append(problems, iacvalidate.Permissions(root, typed, funcs)...)
	}

	// AWS: one AWS::Serverless::Function per folder, named <Name>Function.
	resources := mapping(tpl, "Resources")
	awsFuncs := map[string]*yaml.Node{}
	for name, res := range pairs(resources) {
		if scalar(mapping(res, "Type")) == "AWS::Serverless::Function" {
			awsFuncs[name] = res
		}
	}
	for _, f := range funcs {
		logical := logicalID(f)
		res, ok := awsFuncs[logical]
		if !ok {
			fail("template.yaml: functions/%s has no AWS::Serverless::Function %s", f, logical)
			continue
		}
		if bm := scalar(mapping(mapping(res, "Metadata"), "BuildMethod")); bm != "makefile" {
			fail("template.yaml: %s: Metadata.BuildMethod = %q, want makefile", logical, bm)
		}
		if !strings.Contains(string(makefile), "SAM_TARGET") {
			fail("Makefile: no SAM build-<LogicalId> targets")
		}
		delete(awsFuncs, logical)
	}
	for name := range awsFuncs {
		fail("template.yaml: %s deploys a function with no folder under functions/", name)
	}

	// Tencent: inputs.functions.<name>, handler = binary name.
	tcFuncs := map[string]*yaml.Node{}
	for name, fn := range pairs(mapping(mapping(sls, "inputs"), "functions")) {
		tcFuncs[name] = fn
	}
	for _, f := range funcs {
		fn, ok := tcFuncs[f]
		if !ok {
			fail("infra/tencent/serverless.yml: functions/%s missing from inputs.functions", f)
			continue
		}
		if h := scalar(mapping(fn, "handler")); h != f {
			fail("infra/tencent/serverless.yml: %s.handler = %q, want the binary name %q", f, h, f)
		}
		delete(tcFuncs, f)
	}
	for name := range tcFuncs {
		fail("infra/tencent/serverless.yml: function %s has no folder under functions/", name)
	}

	// Environment variables: declared where they matter.
	awsEnv := map[string]bool{}
	for name := range pairs(mapping(mapping(mapping(mapping(tpl, "Globals"), "Function"), "Environment"), "Variables")) {
		awsEnv[name] = true
	}
	for _, res := range pairs(resources) {
		for name := range pairs(mapping(mapping(mapping(res, "Properties"), "Environment"), "Variables")) {
			awsEnv[name] = true
		}
	}
	tcEnv := map[string]bool{}
	if envs := mapping(mapping(sls, "inputs"), "environments"); envs != nil {
		for _, item := range envs.Content {
			tcEnv[scalar(mapping(item, "key"))] = true
		}
	}
	documented := map[string]config.Var{}
	for _, v := range config.Vars {
		documented[v.Name] = v
		switch v.Where {
		case "local":
			continue
		case "aws":
			if !awsEnv[v.Name] {
				fail("template.yaml: environment variable %s is not declared", v.Name)
			}
			continue
		}
		if !awsEnv[v.Name] && !v.Secret {
			fail("template.yaml: environment variable %s is not declared (secrets may come from SECRETS_ARN instead)", v.Name)
		}
		if !tcEnv[v.Name] {
			fail("infra/tencent/serverless.yml: environment variable %s is not declared", v.Name)
		}
	}
	for name := range awsEnv {
		if _, ok := documented[name]; !ok {
			fail("template.yaml: declares %s, which the code does not read (not in config.Vars)", name)
		}
	}
	for name := range tcEnv {
		if _, ok := documented[name]; !ok {
			fail("infra/tencent/serverless.yml: declares %s, which the code does not read (not in config.Vars)", name)
		}
	}
	for _, name := range envReadByCode(root) {
		if _, ok := documented[name]; !ok && !platformVars[name] {
			fail("code reads environment variable %s, which is not documented in config.Vars", name)
		}
	}
	sort.Strings(problems)
	return problems
}

// platformVars are set by the platforms themselves, not by the operator.
var platformVars = map[string]bool{
	"AWS_LAMBDA_RUNTIME_API": true, "TENCENTCLOUD_RUNENV": true, "_LAMBDA_SERVER_PORT": true,
	"_SCF_SERVER_PORT": true, "AWS_REGION": true, "AWS_LAMBDA_FUNCTION_NAME": true,
	"TENCENTCLOUD_REGION": true, "TENCENTCLOUD_SECRETID": true, "TENCENTCLOUD_SECRETKEY": true,
	"TENCENTCLOUD_SESSIONTOKEN": true, "SCF_FUNCTIONNAME": true, "SCF_NAMESPACE": true, "TRIGGER_SRC": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"ENGINES_DIR": true, "REQUIRE_ENGINES": true, "ARTIFACTS_DIR": true, "ADDR": true,
}

var getenvCall = regexp.MustCompile(`(?:Getenv|getenv|LookupEnv)\("([A-Z][A-Z0-9_]+)"\)`)

// envReadByCode finds the variables that non-test code reads by name.
func envReadByCode(root string) []string {
	seen := map[string]bool{}
	for _, dir := range []string{"functions", "shared", "infra"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			if strings.Contains(path, string(filepath.Separator)+"internal"+string(filepath.Separator)+"enginetest") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, m := range getenvCall.FindAllSubmatch(b, -1) {
				seen[string(m[1])] = true
			}
			return nil
		})
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func functionDirs(root string) []string {
	entries, _ := os.ReadDir(filepath.Join(root, "functions"))
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	return out
}

func logicalID(fn string) string {
	return strings.ToUpper(fn[:1]) + fn[1:] + "Function"
}

func loadYAML(path string) (*yaml.Node, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, &yamlError{path, err}
	}
	if len(doc.Content) == 0 {
		return nil, &yamlError{path, os.ErrInvalid}
	}
	return doc.Content[0], nil
}

type yamlError struct {
	path string
	err  error
}

func (e *yamlError) Error() string { return e.path + ": " + e.err.Error() }

// mapping returns the value under key of a mapping node, or nil.
func mapping(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// pairs iterates a mapping node's keys and values.
func pairs(n *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i+1]
	}
	return out
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
