package infra_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the files the drift checks read into a temporary
// directory: the templates, the Makefile and the Go sources under
// functions/ and shared/.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	for _, f := range []string{"template.yaml", "infra/tencent/serverless.yml", "Makefile"} {
		copyFile(t, filepath.Join(repoRoot, f), filepath.Join(dst, f))
	}
	for _, dir := range []string{"functions", "shared"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") {
				return nil
			}
			rel, _ := filepath.Rel(repoRoot, path)
			copyFile(t, path, filepath.Join(dst, rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit replaces the first old with new in root/file, failing when old is
// absent (the drift would not be introduced and the test would prove nothing).
func edit(t *testing.T, root, file, old, new string) {
	t.Helper()
	p := filepath.Join(root, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDriftIsCaught breaks a temporary copy of the tree in one way at a time
// and checks that the drift checks report exactly that.
func TestDriftIsCaught(t *testing.T) {
	clean := copyTree(t)
	if p := driftProblems(clean); len(p) > 0 {
		t.Fatalf("the unmodified copy already has problems: %v", p)
	}
	tests := []struct {
		name  string
		drift func(t *testing.T, root string)
		want  string
	}{
		{"function removed from template.yaml", func(t *testing.T, root string) {
			edit(t, root, "template.yaml", "  NotesyncFunction:\n", "  NotesyncFunctionGone:\n")
		}, "functions/notesync has no AWS::Serverless::Function NotesyncFunction"},
		{"function removed from serverless.yml", func(t *testing.T, root string) {
			edit(t, root, "infra/tencent/serverless.yml", "    notesync:\n", "    notesync-gone:\n")
		}, "functions/notesync missing from inputs.functions"},
		{"function folder added", func(t *testing.T, root string) {
			copyFile(t, filepath.Join(root, "functions/notesync/main.go"), filepath.Join(root, "functions/exporter/main.go"))
		}, "functions/exporter has no AWS::Serverless::Function ExporterFunction"},
		{"env var declaration removed from template.yaml", func(t *testing.T, root string) {
			edit(t, root, "template.yaml", "        BOT_TIMEZONE: !Ref BotTimeZone\n", "")
		}, "template.yaml: environment variable BOT_TIMEZONE is not declared"},
		{"env var declaration removed from serverless.yml", func(t *testing.T, root string) {
			edit(t, root, "infra/tencent/serverless.yml", `- {key: BOT_TIMEZONE,`, `- {key: BOT_TIME_ZONE,`)
		}, "infra/tencent/serverless.yml: environment variable BOT_TIMEZONE is not declared"},
		{"code reads an undeclared env var", func(t *testing.T, root string) {
			src := "package callback\n\nimport \"os\"\n\nvar _ = os.Getenv(\"SHINY_NEW_SETTING\")\n"
			if err := os.WriteFile(filepath.Join(root, "shared/wecom/callback/drift.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "code reads environment variable SHINY_NEW_SETTING"},
		{"permission removed", func(t *testing.T, root string) {
			edit(t, root, "template.yaml", "Action: [sqs:SendMessage]", "Action: [sqs:GetQueueUrl]")
		}, "CallbackFunction: the code calls sqs:SendMessage but the policy does not allow it"},
		{"permission added", func(t *testing.T, root string) {
			edit(t, root, "template.yaml", "Action: [sqs:SendMessage]", "Action: [sqs:SendMessage, sqs:PurgeQueue]")
		}, "CallbackFunction: the policy allows sqs:PurgeQueue, which the code never calls"},
		{"code starts calling a new AWS API", func(t *testing.T, root string) {
			edit(t, root, "shared/wecom/callback/callback.go", "Unclaim(ctx context.Context, key string) error\n",
				"Unclaim(ctx context.Context, key string) error\n\tTake(ctx context.Context, topic string, n int, visibility time.Duration) ([]store.Item, error)\n")
		}, "CallbackFunction: the code calls dynamodb:Query but the policy does not allow it"},
		{"wildcard action", func(t *testing.T, root string) {
			edit(t, root, "template.yaml", "Action: [sqs:SendMessage]", "Action: [\"sqs:*\"]")
		}, `"sqs:*" is a wildcard`},
		{"dangling reference", func(t *testing.T, root string) {
			edit(t, root, "template.yaml", "Queue: !GetAtt WorkQueue.Arn", "Queue: !GetAtt WorkQueues.Arn")
		}, "Fn::GetAtt WorkQueues.Arn: no such resource"},
		{"misspelt property", func(t *testing.T, root string) {
			edit(t, root, "template.yaml", "      BillingMode: PAY_PER_REQUEST", "      BilingMode: PAY_PER_REQUEST")
		}, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyTree(t)
			tt.drift(t, root)
			problems := driftProblems(root)
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("drift not caught: want a problem containing %q, got %q", tt.want, problems)
		})
	}
}
