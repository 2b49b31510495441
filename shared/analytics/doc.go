// Package analytics records what the assistant does and answers questions
// about it for the admin console.
//
// A Recorder implements worker.Metrics. The hot path only adds to an
// in-memory aggregate under a mutex; a background flush (every second by
// default, and on Flush/Close) turns the aggregate into one
// store.Counters.Incr per (series, member, day) and one read-modify-write
// per day bucket of raw events (unanswered questions, conversation facts)
// kept for EVENT_RETENTION_DAYS. Counters are per UTC day, written twice:
// once for all channels (series "messages") and once per channel
// ("messages@kf"). On Lambda the Recorder also writes CloudWatch Embedded
// Metric Format lines to stdout (no API calls).
//
// Query reads the counters and event buckets back: per-day series, top
// intents, unanswered questions grouped by similarity (normalised text,
// character-bigram Jaccard), handoff rate and reasons, CSAT distribution and
// trend, and reply latency p50/p95 estimated from latency buckets.
package analytics
