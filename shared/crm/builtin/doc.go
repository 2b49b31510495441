// Package builtin is an embedded CRM: the reference implementation of the
// crm.CRM port and the default of the local stack. It keeps its data in
// memory, optionally persisted to a JSON file, and starts with demo data
// (companies, contacts with WeCom external_userids such as wmDEMO_zhangsan,
// owners with WeCom userids such as sales01, deals, orders such as
// SO20261101, tasks).
//
// Handler serves a small web page (/crm/ lists contacts, /crm/contacts/{id}
// shows a contact's deals, orders, tasks and synced notes, newest first) and
// a read-only JSON API under /crm/api/ so that tests and the local stack can
// inspect what the bot wrote:
//
//	GET /crm/api/contacts?q=…           contacts (all, or matching q)
//	GET /crm/api/contacts/{id}          the contact's domain.CustomerContext (all notes)
//	GET /crm/api/notes?contact_id=…     notes, newest first
//	GET /crm/api/tasks?owner_id=…&all=1 tasks (open only unless all=1)
//	GET /crm/api/orders/{id}            one order
package builtin
