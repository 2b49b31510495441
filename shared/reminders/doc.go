// Package reminders is one pass of the scheduled reminders function: a
// message to the owner for every open task due within the lead time, one
// morning digest of overdue tasks per rep, and a daily team summary to the
// group robot. Store claims (keyed by task id and due time, rep and day,
// day) make every message go out at most once however many passes run
// concurrently; completed tasks are never listed by the CRM, so never
// reminded. Days and hours are those of the business time zone.
package reminders
