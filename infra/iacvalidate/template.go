package iacvalidate

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// ErrTemplate marks a template that cannot be parsed at all.
var ErrTemplate = errors.New("iacvalidate: invalid template")

// Template is a parsed SAM/CloudFormation template.
type Template struct {
	// Typed is goformation's model: every resource decoded into its struct.
	Typed *cloudformation.Template
	// Raw is the template with intrinsic functions in long form
	// ({"Ref": …}, {"Fn::GetAtt": …}), unresolved.
	Raw map[string]any
}

// ParseTemplate parses a YAML or JSON template. It fails, wrapping
// ErrTemplate, when the document is not a template or when any resource does
// not decode into goformation's typed struct for its Type (unknown type,
// unknown property, wrong value type).
func ParseTemplate(data []byte) (*Template, error) {
	rawJSON, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(rawJSON, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%w: not a mapping", ErrTemplate)
	}
	if _, ok := raw["Resources"].(map[string]any); !ok {
		return nil, fmt.Errorf("%w: no Resources mapping", ErrTemplate)
	}
	// CloudFormation hands a Ref to any parameter over as a string (a
	// Number parameter included); goformation would substitute the raw YAML
	// default, so give it string defaults.
	overrides := map[string]any{}
	params, _ := raw["Parameters"].(map[string]any)
	for name, p := range params {
		pm, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: parameter %s is not a mapping", ErrTemplate, name)
		}
		if d, ok := pm["Default"]; ok && d != nil {
			overrides[name] = fmt.Sprint(d)
		}
	}
	for name, r := range raw["Resources"].(map[string]any) {
		rm, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: resource %s is not a mapping", ErrTemplate, name)
		}
		typ, _ := rm["Type"].(string)
		if typ == "" {
			return nil, fmt.Errorf("%w: resource %s has no Type", ErrTemplate, name)
		}
		if _, known := cloudformation.AllResources()[typ]; !known && !strings.HasPrefix(typ, "Custom::") {
			return nil, fmt.Errorf("%w: resource %s: unknown type %s", ErrTemplate, name, typ)
		}
	}
	typed, err := parseTyped(data, overrides)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	return &Template{Typed: typed, Raw: raw}, nil
}

func parseTyped(data []byte, overrides map[string]any) (t *cloudformation.Template, err error) {
	defer func() { // goformation may panic on shapes it does not expect
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("goformation: %v", r)
		}
	}()
	return goformation.ParseYAMLWithOptions(data, &intrinsics.ProcessorOptions{ParameterOverrides: overrides})
}

// pseudo are CloudFormation's pseudo parameters.
var pseudo = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// Problems lists what is wrong with the template beyond typing: references
// to parameters, resources or conditions that do not exist, and IAM
// statements with a wildcard ("*") action. The list is sorted.
func (t *Template) Problems() []string {
	var out []string
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	params, _ := t.Raw["Parameters"].(map[string]any)
	resources, _ := t.Raw["Resources"].(map[string]any)
	conditions, _ := t.Raw["Conditions"].(map[string]any)
	isRef := func(name string) bool { return params[name] != nil || resources[name] != nil || pseudo[name] }

	var walk func(where string, v any, subLocals map[string]bool)
	walk = func(where string, v any, subLocals map[string]bool) {
		switch v := v.(type) {
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", where, i), e, subLocals)
			}
		case map[string]any:
			if len(v) == 1 {
				for fn, arg := range v {
					switch fn {
					case "Ref":
						if s, _ := arg.(string); !isRef(s) {
							fail("template.yaml: %s: Ref %v: no such parameter or resource", where, arg)
						}
						return
					case "Fn::GetAtt":
						res := ""
						switch a := arg.(type) {
						case string:
							res, _, _ = strings.Cut(a, ".")
						case []any:
							if len(a) == 2 {
								res, _ = a[0].(string)
							}
						}
						if resources[res] == nil {
							fail("template.yaml: %s: Fn::GetAtt %v: no such resource", where, arg)
						}
						return
					case "Fn::Sub":
						str, locals := "", map[string]bool{}
						switch a := arg.(type) {
						case string:
							str = a
						case []any:
							if len(a) == 2 {
								str, _ = a[0].(string)
								if m, ok := a[1].(map[string]any); ok {
									for k, e := range m {
										locals[k] = true
										walk(where+".Fn::Sub."+k, e, nil)
									}
								}
							}
						}
						for _, m := range subVar.FindAllStringSubmatch(str, -1) {
							name, _, _ := strings.Cut(m[1], ".")
							if locals[m[1]] || isRef(name) {
								continue
							}
							fail("template.yaml: %s: Fn::Sub ${%s}: no such parameter or resource", where, m[1])
						}
						return
					case "Fn::If":
						if a, ok := arg.([]any); ok && len(a) == 3 {
							if c, _ := a[0].(string); conditions[c] == nil {
								fail("template.yaml: %s: Fn::If %v: no such condition", where, a[0])
							}
							walk(where+".Fn::If", a[1:], subLocals)
							return
						}
						fail("template.yaml: %s: Fn::If needs [condition, then, else]", where)
						return
					case "Condition":
						if c, ok := arg.(string); ok && strings.HasPrefix(where, "Conditions.") && conditions[c] == nil {
							fail("template.yaml: %s: Condition %s: no such condition", where, c)
						}
					}
				}
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(where+"."+k, v[k], subLocals)
			}
		}
	}
	for _, section := range []string{"Globals", "Conditions", "Outputs"} {
		walk(section, t.Raw[section], nil)
	}
	for name, r := range resources {
		rm, _ := r.(map[string]any)
		walk("Resources."+name+".Properties", rm["Properties"], nil)
		if c, ok := rm["Condition"].(string); ok && conditions[c] == nil {
			fail("template.yaml: Resources.%s: Condition %s: no such condition", name, c)
		}
		for _, d := range stringList(rm["DependsOn"]) {
			if resources[d] == nil {
				fail("template.yaml: Resources.%s: DependsOn %s: no such resource", name, d)
			}
		}
	}
	outputs, _ := t.Raw["Outputs"].(map[string]any)
	for name, o := range outputs {
		om, _ := o.(map[string]any)
		if c, ok := om["Condition"].(string); ok && conditions[c] == nil {
			fail("template.yaml: Outputs.%s: Condition %s: no such condition", name, c)
		}
	}
	for name := range resources {
		for _, st := range t.statements(name) {
			for _, a := range st.Actions {
				if strings.Contains(a, "*") {
					fail("template.yaml: %s: IAM action %q is a wildcard; list the operations", name, a)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Statement is one IAM policy statement of a function.
type Statement struct {
	Effect    string
	Actions   []string
	Resources []any
}

// FunctionNames returns the logical ids of the AWS::Serverless::Function
// resources, sorted.
func (t *Template) FunctionNames() []string {
	var out []string
	resources, _ := t.Raw["Resources"].(map[string]any)
	for name, r := range resources {
		if rm, _ := r.(map[string]any); rm["Type"] == "AWS::Serverless::Function" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Policies returns the statements a function's role gets from its Policies
// property, plus the actions SAM adds by itself for its event sources (an SQS
// event adds sqs:ReceiveMessage, sqs:DeleteMessage and
// sqs:GetQueueAttributes). It fails for policy forms whose actions cannot be
// read from the template (managed policy names or ARNs, unknown SAM policy
// templates): least privilege cannot be checked on them.
func (t *Template) Policies(function string) (stmts []Statement, samAdded []string, err error) {
	resources, _ := t.Raw["Resources"].(map[string]any)
	rm, _ := resources[function].(map[string]any)
	if rm == nil {
		return nil, nil, fmt.Errorf("no resource %s", function)
	}
	props, _ := rm["Properties"].(map[string]any)
	var list []any
	switch p := props["Policies"].(type) {
	case nil:
	case []any:
		list = p
	default:
		list = []any{p}
	}
	for _, p := range list {
		pm, ok := p.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("%s: policy %v is a managed policy; use inline statements so least privilege can be checked", function, p)
		}
		body, ok := pm["Statement"]
		if !ok {
			return nil, nil, fmt.Errorf("%s: policy %v is not an inline statement list", function, keysOf(pm))
		}
		sts, _ := body.([]any)
		if sts == nil {
			sts = []any{body}
		}
		for _, s := range sts {
			sm, _ := s.(map[string]any)
			stmts = append(stmts, Statement{
				Effect:    fmt.Sprint(sm["Effect"]),
				Actions:   stringList(sm["Action"]),
				Resources: anyList(sm["Resource"]),
			})
		}
	}
	events, _ := props["Events"].(map[string]any)
	for _, e := range events {
		if em, _ := e.(map[string]any); em["Type"] == "SQS" {
			samAdded = append(samAdded, "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
		}
	}
	return stmts, samAdded, nil
}

func (t *Template) statements(name string) []Statement {
	st, _, _ := t.Policies(name)
	return st
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func anyList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
