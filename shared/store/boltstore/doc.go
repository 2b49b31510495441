// Package boltstore is the single-file store engine for local runs and
// single-instance deployments, built on go.etcd.io/bbolt.
//
// One process holds the file at a time: a second Open of the same path fails
// with a clear error after the lock timeout instead of hanging. Within the
// process every method is safe for concurrent use; writes are serialised by
// bbolt and fsynced unless WithNoSync is given.
//
// Expiry (claims, leases, records) is checked on every read and conditional
// write against the local clock, so expired entries behave as absent at once;
// WithSweep additionally deletes them from the file periodically.
//
// Layout: top-level buckets "claims", "leases", "records", "counters" and
// "outbox"; the outbox has one nested bucket per topic holding "items"
// (ID → JSON), "queue" (visible-at + ID) and "dead" (buried-at + seq + ID).
// Counter keys are series NUL day NUL member, so a series name must not
// contain NUL.
package boltstore
