// Package dynamostore implements store.Store on a single DynamoDB table via
// aws-sdk-go-v2, for deployments on AWS Lambda.
//
// # Table
//
// Partition key pk (S), sort key sk (S), TTL on ttl (N, epoch seconds),
// on-demand billing, no secondary indexes (CreateTable makes exactly this;
// the SAM template declares the same). No code path scans.
//
// DynamoDB deletes expired items lazily, up to days late, so every read and
// conditional write also checks exp (N, epoch milliseconds) and treats a row
// whose exp is not after now as absent. ttl is exp rounded up to seconds and
// only serves native deletion. Rows without exp never expire.
//
// # Item layout
//
//	entity          pk                          sk                          other attributes
//	claim           claim#KEY                   -                           exp, ttl
//	lease           lease#NAME                  -                           owner, exp, ttl
//	record          rec#KEY                     -                           val (B, absent if empty), ver (N), [exp, ttl]
//	outbox lookup   ob#TOPIC                    id#ID                       state ("live"|"dead"), at (sk of the data row)
//	outbox queued   ob#TOPIC                    q#DUEMS#ID#NONCE            id, payload (B), due, created (unix ns),
//	                                                                        attempts, lerr, w (written, epoch ms)
//	outbox dead     obdead#TOPIC                BURIEDMS#ID#NONCE           same as queued
//	counter         ctr#SERIES#YYYY-MM-DD       m#MEMBER                    n (N)
//
// DUEMS and BURIEDMS are epoch milliseconds zero-padded to 20 digits, so a
// Query on ob#TOPIC with sk BETWEEN "q#" AND "q#"+now finds due items in due
// order and a Query on obdead#TOPIC lists dead letters oldest first. NONCE is
// 8 random hex digits, making every write of a data row a row of its own.
//
// # Outbox
//
// The lookup row is the truth: a data row is the item's current one only if
// the lookup row's at names it. Add, Retry, Bury and Revive read the lookup
// and data rows and then move the item with one TransactWriteItems (delete
// old row, put new row, repoint the lookup conditionally on its old at), so
// Add is idempotent per ID and every move is atomic. Take, the hot path,
// avoids transactions (they cost several single writes on DynamoDB): it puts
// hidden copies (attempts+1, due after the visibility) in one BatchWriteItem,
// repoints each lookup row with a conditional UpdateItem (exactly one of
// several concurrent takers wins) and batch-deletes the old rows, or the
// losers' copies. Ack deletes the lookup row and then its data row. A crash
// between those steps leaves only unreferenced data rows; Take deletes such a
// row when it meets one older than a minute.
//
// # Counters
//
// Incr is one UpdateItem ADD on the member's row. Counts issues one Query per
// day of the range (a few in parallel, at most 400 days by default, see
// WithMaxDays).
//
// # Errors
//
// Vendor errors are translated at this boundary: throttling becomes
// domain.ErrRateLimited, a missing table or rejected credentials
// domain.ErrConfig, validation errors domain.ErrInvalid, and network
// failures, timeouts and 5xx answers domain.ErrUnavailable. The SDK's own
// retryer runs first.
package dynamostore
