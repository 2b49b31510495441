// Package storetest is the conformance suite every store engine runs: it
// checks the behaviour promised by the interfaces in package store (claims,
// leases, versioned records, the outbox and counters) against a real engine,
// including expiry on the engine's own clock and concurrent callers.
//
// An engine's test calls Run with a function that opens a fresh, empty,
// isolated store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
//	}
package storetest
