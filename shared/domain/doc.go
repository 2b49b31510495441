// Package domain holds the plain types and sentinel errors that the rest of
// wecom-crm-bot shares: conversations and their turns, CRM contacts, deals,
// orders, notes and tasks, and the replies the bot sends. It imports only the
// standard library and never any adapter.
package domain
