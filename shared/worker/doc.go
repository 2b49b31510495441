// Package worker is the slow half of the callback pipeline: it consumes the
// envelopes that the callback function queued and does the work WeCom's 5 s
// budget does not allow. For 微信客服 it pulls messages with sync_msg under a
// per-account lease, from a stored cursor, processes each message exactly
// once, runs the bot, and replies within WeCom's send window; for the
// self-built app it answers staff; for new external contacts it sends the
// welcome message. Conversation state lives in the store, where the note
// sync and analytics read it.
//
// Exactly once: each pulled message is marked done in the store after it is
// processed; a message processed but not yet marked (a crash in between) is
// recognised by its turn in the conversation, and its replies are re-sent
// with the same deterministic kf msgid, which WeCom de-duplicates.
package worker
