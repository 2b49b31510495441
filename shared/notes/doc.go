// Package notes turns finished conversations into CRM notes and delivers
// them exactly once: Render formats one note per conversation, and Syncer
// drains the store's outbox (ending idle conversations, then upserting notes
// keyed by the conversation key), retrying with exponential backoff and
// jitter, and moving an item to the dead-letter list after MaxAttempts. Dead
// letters are listed and replayed with Replay.
package notes
