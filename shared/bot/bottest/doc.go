// Package bottest holds the scripted conversations of
// shared/bot/testdata/conversations: their types and a strict loader, used
// by the bot's own conversation tests (fixed clock, fakes) and by the
// end-to-end run of the same scripts through the whole local stack.
package bottest
