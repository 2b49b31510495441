// Package webhook is a generic crm.CRM adapter: every operation is a signed
// JSON POST to a URL you configure, so any CRM (纷享销客, 销售易, an in-house
// system) can be plugged in with a small shim. Handler is the receiving side
// of the same contract over any crm.CRM; it serves as the reference shim and
// as the fake receiver in tests.
//
// # Contract (version 1)
//
// Request: POST {base}/{op} with Content-Type: application/json and
//
//	X-CRM-Timestamp: <unix seconds>
//	X-CRM-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + op + "." + body)>
//
// The receiver must recompute the signature over the raw body, compare in
// constant time and reject timestamps more than 5 minutes away from its
// clock (401). Operations, request bodies and 200 response bodies:
//
//	find_contact     {"external_userid","unionid","name","company","phones":[],"follow_userid"} → Contact
//	create_contact   same as find_contact (upsert on external_userid)                            → Contact
//	context          {"contact_id"}                                  → CustomerContext
//	upsert_note      Note {"key","contact_id","owner_id","title","body","at"} → {"id"}
//	create_task      Task {"key","contact_id","owner_id","subject","body","due",…} → Task
//	list_tasks       {"owner_id","contact_id","due_before","limit"} → {"tasks":[Task]}
//	complete_task    {"id"}                                          → {}
//	search_contacts  {"query","limit"}                               → {"contacts":[Contact]}
//
// Contact, CustomerContext, Note and Task are the JSON forms of the
// wecom-crm-bot/shared/domain types; times are RFC 3339. Semantics are
// those of crm.CRM (upsert_note keyed by "key"; create_task idempotent by
// "key"; find_contact tries external_userid, unionid, then phones and
// answers 409 when phones match several contacts).
//
// Errors: a non-200 status with {"error":"<code>","message":"…"}:
// 400 invalid, 401/403 unauthorized (the adapter reports
// CRM_WEBHOOK_SECRET), 404 not_found, 409 conflict, 429 rate_limited
// (optional Retry-After seconds), 5xx unavailable.
package webhook
