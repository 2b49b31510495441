// Package localq is the in-process queue of the local stack and of
// single-box deployments. Messages are kept durably in the store's outbox
// (bbolt by default), so a crash loses nothing: on restart the consumer picks
// up whatever was not acknowledged. A bounded pool of workers delivers
// messages; a failed message is retried with exponential backoff and jitter
// and, after MaxAttempts, moved to the outbox's dead-letter list, where it can
// be listed and replayed.
package localq
