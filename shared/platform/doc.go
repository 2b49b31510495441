// Package platform is the serverless glue that lets one function binary run
// unchanged on AWS Lambda, on Tencent SCF (event functions) and as a plain
// local HTTP server (which also serves SCF web functions).
//
// A function's main builds its Handlers once per cold start and calls Start,
// which detects the platform from the environment and turns each trigger
// event into a call of the matching handler:
//
//   - Lambda: API Gateway HTTP API v2 / Function URL events → Handlers.HTTP;
//     SQS batches → Handlers.Queue per record with partial batch failures;
//     EventBridge schedules → Handlers.Schedule; a queue.Envelope → Handlers.Queue.
//   - SCF: API gateway trigger events → Handlers.HTTP; timer triggers →
//     Handlers.Schedule; a queue.Envelope (async Invoke) and CMQ trigger
//     records → Handlers.Queue.
//   - Local: net/http server on ADDR or 127.0.0.1:$PORT serving Handlers.HTTP.
//
// Build Lambda binaries with the lambda.norpc tag to drop the legacy go1.x
// RPC mode of aws-lambda-go (it listens on _LAMBDA_SERVER_PORT, the same
// variable scf-go-lib uses):
//
//	GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap ./functions/callback
//
// The package also holds the process-level helpers every function needs:
// NewLogger (JSON slog), the Redact helpers for personal data in logs, and
// LoadSecrets (AWS Secrets Manager overlay on the environment).
package platform
