// Package platformtest drives a built function binary the way each
// platform does, for end-to-end tests of shared/platform and of the
// functions/* binaries:
//
//   - RuntimeAPI is a fake AWS Lambda Runtime API (the routes aws-lambda-go
//     uses): queue an event, get the function's response or error;
//   - SCF is a client of the Tencent SCF Go runtime protocol (net/rpc over
//     gob, service "Function" with Ping and Invoke);
//   - Start runs the binary with an exact environment, captures its output
//     and kills it at cleanup.
package platformtest
