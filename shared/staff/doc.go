// Package staff answers sales reps' commands sent to the self-built app:
// help, client look-up (by name, phone or company), my tasks, creating a
// task from natural Chinese (提醒我 周五下午3点 给王总发报价), completing and
// snoozing a task from the last list, and deal progress. It implements
// worker.StaffHandler: text that is not a command is left to the bot.
//
// The command syntax is parsed by Parse (fuzzed); the CRM is reached through
// the crm.CRM port. When the CRM is unavailable a write (create, complete,
// snooze) is kept in the store's outbox (topic PendingTopic) and replayed by
// Drain, which the reminders function runs on every pass; the rep is told so.
package staff
