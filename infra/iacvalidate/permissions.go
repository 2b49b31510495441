package iacvalidate

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// StoreUse names a consumer-declared interface that a function's wiring
// hands the store to: the package directory and the type name.
type StoreUse struct {
	Dir, Interface string
}

// Function describes what one deployed function does with AWS on Lambda.
type Function struct {
	// Store lists the interfaces the store is handed to (shared/app wiring).
	Store []StoreUse
	// Publish is set when the function publishes to the work queue (sqsq.Publisher).
	Publish bool
	// Secrets is set when the function reads SECRETS_ARN at start (all do).
	Secrets bool
}

// Functions mirrors shared/app's wiring per function folder. A function
// folder missing here fails the check, so a new function must be described.
var Functions = map[string]Function{
	"callback": {Secrets: true, Publish: true, Store: []StoreUse{
		{"shared/wecom/callback", "Claimer"},
	}},
	"worker": {Secrets: true, Store: []StoreUse{
		{"shared/worker", "State"},
		{"shared/wecom", "TokenStore"},
		{"shared/crm", "Store"},
		{"shared/bot", "KnowledgeStore"},
		{"shared/analytics", "Store"}, // app.Metrics
		{"shared/staff", "State"},     // app.Staff
	}},
	"notesync": {Secrets: true, Store: []StoreUse{
		{"shared/notes", "Outbox"},
		{"shared/worker", "State"}, // worker.EndIfIdle
		{"shared/crm", "Store"},    // crm.Cached
		{"shared/wecom", "TokenStore"},
	}},
	"reminders": {Secrets: true, Store: []StoreUse{
		{"shared/reminders", "State"},
		{"shared/staff", "Pending"}, // staff.Drain
		{"shared/wecom", "TokenStore"},
	}},
	"admin": {Secrets: true, Store: []StoreUse{
		{"shared/admin", "Records"},
		{"shared/notes", "Outbox"},       // dead letters and replay
		{"shared/analytics", "Store"},    // analytics.NewQuery
		{"shared/bot", "KnowledgeStore"}, // app.Knowledge
		{"shared/crm", "Store"},          // crm.Cached for the preview
	}},
}

// adapterCalls says where each capability's AWS calls are made: the package
// directory and the function or method whose derived operations count.
var adapterCalls = struct {
	storeDir, storeType string
	publish             [2]string
	secrets             [2]string
}{
	storeDir: "shared/store/dynamostore", storeType: "Store",
	publish: [2]string{"shared/queue/sqsq", "Publisher.Publish"},
	secrets: [2]string{"shared/platform", "LoadSecrets"},
}

// CodeActions derives the IAM actions a function's code can cause on
// Lambda (DynamoDB store, SQS queue, Secrets Manager), sorted.
func CodeActions(root, function string) ([]string, error) {
	fn, ok := Functions[function]
	if !ok {
		return nil, fmt.Errorf("functions/%s is not described in iacvalidate.Functions (what does it do with the store, the queue, the secret?)", function)
	}
	acts := map[string]bool{}
	if len(fn.Store) > 0 {
		ops, err := ScanOps(filepath.Join(root, adapterCalls.storeDir))
		if err != nil {
			return nil, err
		}
		for _, u := range fn.Store {
			methods, err := InterfaceMethods(filepath.Join(root, u.Dir), u.Interface)
			if err != nil {
				return nil, err
			}
			for _, m := range methods {
				key := adapterCalls.storeType + "." + m
				got, ok := ops[key]
				if !ok {
					return nil, fmt.Errorf("%s.%s: %s has no method %s", u.Dir, u.Interface, adapterCalls.storeDir, key)
				}
				for _, a := range got {
					acts[a] = true
				}
			}
		}
	}
	for _, c := range []struct {
		on  bool
		loc [2]string
	}{{fn.Publish, adapterCalls.publish}, {fn.Secrets, adapterCalls.secrets}} {
		if !c.on {
			continue
		}
		ops, err := ScanOps(filepath.Join(root, c.loc[0]))
		if err != nil {
			return nil, err
		}
		got, ok := ops[c.loc[1]]
		if !ok || len(got) == 0 {
			return nil, fmt.Errorf("%s: %s calls no AWS API any more; update iacvalidate", c.loc[0], c.loc[1])
		}
		for _, a := range got {
			acts[a] = true
		}
	}
	return sortedKeys(acts), nil
}

// Permissions compares, for every function folder, the actions its code can
// cause with the actions its policy in the template allows (Allow
// statements plus what SAM adds for event sources). It reports actions the
// code needs but the policy lacks, and actions the policy grants that the
// code never uses.
func Permissions(root string, t *Template, functions []string) []string {
	var out []string
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, f := range functions {
		logical := strings.ToUpper(f[:1]) + f[1:] + "Function"
		need, err := CodeActions(root, f)
		if err != nil {
			fail("permissions: %v", err)
			continue
		}
		stmts, samAdded, err := t.Policies(logical)
		if err != nil {
			fail("template.yaml: %v", err)
			continue
		}
		granted := map[string]bool{}
		for _, s := range stmts {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range s.Actions {
				granted[a] = true
			}
		}
		platform := map[string]bool{}
		for _, a := range samAdded {
			platform[a] = true
		}
		needed := map[string]bool{}
		for _, a := range need {
			needed[a] = true
			if !granted[a] && !platform[a] {
				fail("template.yaml: %s: the code calls %s but the policy does not allow it", logical, a)
			}
		}
		for _, a := range sortedKeys(granted) {
			if !needed[a] && !platform[a] {
				fail("template.yaml: %s: the policy allows %s, which the code never calls (least privilege)", logical, a)
			}
		}
	}
	sort.Strings(out)
	return out
}
