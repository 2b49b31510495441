// Package store defines the state contract that every stateless function of
// wecom-crm-bot relies on: claims (put-if-absent with TTL), leases, versioned
// records, an outbox with dead letters, and daily counters.
//
// Engines live in sub-packages (boltstore, dynamostore, redisstore) and all
// pass the conformance suite in storetest. Consumers should declare the small
// interface they need rather than depend on Store as a whole.
package store
