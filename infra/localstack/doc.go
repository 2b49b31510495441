// Package localstack runs the whole product in one process, on embedded
// defaults: every function's handlers on one HTTP server, the bbolt store,
// the durable in-process queue, the built-in CRM, and the WeCom emulator
// with its chat page standing in for WeCom. `go run ./infra/local` uses it,
// and so do the end-to-end tests.
package localstack
