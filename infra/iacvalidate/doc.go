// Package iacvalidate checks the deployment templates against a real
// CloudFormation/SAM model and against the code.
//
// ParseTemplate reads template.yaml twice: once through goformation, which
// resolves intrinsic functions and decodes every resource into its typed
// struct with unknown fields refused (a misspelt property or a wrong type
// fails), and once raw with the intrinsics in long form, to check that every
// Ref, Fn::GetAtt, Fn::Sub, Fn::If, Condition and DependsOn target exists and
// that no IAM statement uses a wildcard action.
//
// The permission check (Permissions) compares, per function, the AWS API
// operations the code can call with the IAM actions its policy allows, both
// ways. What the code can call is derived in two steps:
//
//  1. ScanOps reads the source of the adapters that talk to AWS
//     (shared/store/dynamostore, shared/queue/sqsq, shared/platform) and, per
//     function or method, follows calls inside the package to every SDK input
//     type it builds (&dynamodb.PutItemInput{…} → dynamodb:PutItem), every
//     paginator (NewQueryPaginator → dynamodb:Query) and, for
//     TransactWriteItems, the item-level actions of its items (Put →
//     dynamodb:PutItem, Update → UpdateItem, Delete → DeleteItem,
//     ConditionCheck → ConditionCheckItem): IAM authorises a transaction
//     by those actions, not by a TransactWriteItems action.
//  2. Functions (a table that mirrors shared/app's wiring) lists, per
//     function, the consumer-declared interfaces the store is handed to
//     (callback.Claimer, worker.State, …), whether it publishes to or consumes
//     from SQS, and whether it reads the Secrets Manager secret. The store
//     methods a function can call are the methods of those interfaces, read
//     from their declarations.
package iacvalidate
