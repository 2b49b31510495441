package iacvalidate_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wecom-crm-bot/infra/iacvalidate"
)

const root = "../.."

func TestProjectTemplate(t *testing.T) {
	b, err := os.ReadFile(root + "/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := iacvalidate.ParseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tpl.Problems() {
		t.Error(p)
	}
	// The callback's needs are small and well known: a claim, its release,
	// one SendMessage, the secret.
	got, err := iacvalidate.CodeActions(root, "callback")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dynamodb:DeleteItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue", "sqs:SendMessage"}
	if !slices.Equal(got, want) {
		t.Errorf("CodeActions(callback) = %v, want %v", got, want)
	}
}

const base = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Name: {Type: String, Default: x}
  Size: {Type: Number, Default: 30}
Conditions:
  On: !Equals [!Ref Name, "x"]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: bootstrap
      Runtime: provided.al2023
      Environment:
        Variables: {SIZE: !Ref Size, T: !Sub "${Table}-${AWS::Region}"}
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem]
              Resource: !GetAtt Table.Arn
Outputs:
  Out:
    Value: !If [On, !Ref Table, !Ref AWS::NoValue]
`

func TestTemplateChecks(t *testing.T) {
	tests := []struct {
		name, old, new string
		parseErr       bool
		problem        string
	}{
		{name: "ok"},
		{name: "unknown property", old: "BillingMode:", new: "BilingMode:", parseErr: true},
		{name: "unknown type", old: "AWS::DynamoDB::Table", new: "AWS::DynamoDB::Tabel", parseErr: true},
		{name: "wrong value type", old: "KeySchema: [", new: "KeySchema: {x: [", parseErr: true},
		{name: "ref to missing parameter", old: "!Ref Size", new: "!Ref Sizes", problem: "Ref Sizes"},
		{name: "getatt to missing resource", old: "!GetAtt Table.Arn", new: "!GetAtt Tabel.Arn", problem: "Fn::GetAtt Tabel.Arn"},
		{name: "sub of missing resource", old: "${Table}-", new: "${Tables}-", problem: "Fn::Sub ${Tables}"},
		{name: "missing condition", old: "!If [On,", new: "!If [Off,", problem: "Fn::If Off"},
		{name: "wildcard action", old: "[dynamodb:GetItem]", new: "[dynamodb:*]", problem: `"dynamodb:*" is a wildcard`},
		{name: "star action", old: "[dynamodb:GetItem]", new: `["*"]`, problem: `"*" is a wildcard`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(base, tt.old, tt.new, 1)
			if tt.old != "" && src == base {
				t.Fatalf("%q not in the base template", tt.old)
			}
			tpl, err := iacvalidate.ParseTemplate([]byte(src))
			if tt.parseErr {
				if !errors.Is(err, iacvalidate.ErrTemplate) {
					t.Fatalf("ParseTemplate err = %v, want ErrTemplate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			probs := tpl.Problems()
			if tt.problem == "" {
				if len(probs) > 0 {
					t.Fatalf("problems: %v", probs)
				}
				return
			}
			if len(probs) != 1 || !strings.Contains(probs[0], tt.problem) {
				t.Fatalf("problems = %v, want one containing %q", probs, tt.problem)
			}
		})
	}
}

func TestScanOps(t *testing.T) {
	dir := t.TempDir()
	src := `package a

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

type S struct{ db *dynamodb.Client; s *sm.Client }

func (s *S) Get(ctx context.Context) { s.db.GetItem(ctx, &dynamodb.GetItemInput{}) }
func (s *S) Move(ctx context.Context) {
	s.Get(ctx)
	s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{}}, {ConditionCheck: &types.ConditionCheck{}},
	}})
}
func (s *S) List(ctx context.Context) { _ = dynamodb.NewQueryPaginator(s.db, nil); helper(s, ctx) }
func helper(s *S, ctx context.Context) { s.s.GetSecretValue(ctx, &sm.GetSecretValueInput{}) }
func (s *S) None() {}
`
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ops, err := iacvalidate.ScanOps(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"S.Get":  {"dynamodb:GetItem"},
		"S.Move": {"dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem"},
		"S.List": {"dynamodb:Query", "secretsmanager:GetSecretValue"},
		"S.None": {},
	}
	for k, w := range want {
		if got := ops[k]; !slices.Equal(got, w) {
			t.Errorf("%s: %v, want %v", k, got, w)
		}
	}
}

func TestInterfaceMethods(t *testing.T) {
	got, err := iacvalidate.InterfaceMethods(filepath.Join(root, "shared/wecom/callback"), "Claimer")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"Claim", "Unclaim"}) {
		t.Errorf("callback.Claimer methods = %v", got)
	}
	if _, err := iacvalidate.InterfaceMethods(filepath.Join(root, "shared/wecom/callback"), "Nope"); err == nil {
		t.Error("missing interface: no error")
	}
}

func FuzzParseTemplate(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("Resources: {A: {Type: AWS::SQS::Queue, Properties: {X: !Ref B}}}"))
	f.Add([]byte("Resources: [1]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tpl, err := iacvalidate.ParseTemplate(b)
		if err != nil {
			return
		}
		_ = tpl.Problems()
		for _, fn := range tpl.FunctionNames() {
			_, _, _ = tpl.Policies(fn)
		}
	})
}
