// Package loadtest proves the product under load and faults. It drives a
// local stack (infra/localstack) with customer messages through a WeCom
// emulator whose callbacks are each delivered several times with WeCom's
// retry cadence (scaled down), optionally injects faults while the load
// runs (WeCom API errors, CRM errors and outages, worker restarts mid-sync,
// Redis restarts), and then checks the invariants: every customer message
// got exactly one reply, every ended conversation exactly one CRM note,
// dead letters replay. Run reports callback latency and throughput.
//
// The scaled-down runs are ordinary Go tests; the full run (10,000 messages
// across 500 conversations) is behind LOADTEST_FULL=1 or the
// infra/loadtest/cmd/loadtest command (see docs/reliability.md).
package loadtest
