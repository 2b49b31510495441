// Package hubspot is the crm.CRM adapter for HubSpot (CRM v3 objects, v4
// associations) with a private-app token.
//
// Portal set-up (once): a private app with scopes crm.objects.contacts.read,
// crm.objects.contacts.write and crm.objects.deals.read; the token goes in
// HUBSPOT_TOKEN (read by the caller). Custom properties, single-line text
// with "unique value" enabled:
//
//	contacts: wecom_external_userid (unique), wecom_unionid
//	notes:    wecom_conversation_key (unique)
//	tasks:    wecom_task_key (unique)
//
// Calls per operation: FindContact 1 (one search whose filter groups OR the
// external_userid, unionid and phone forms), CreateContact 1 (batch upsert on
// wecom_external_userid), Context 1–4 (contact GET with associations, then
// one batch read each for deals, notes and tasks that exist; v4 association
// listing only when the GET's lists are paged), UpsertNote 2 (batch upsert on
// wecom_conversation_key, then the v4 default note→contact association, an
// idempotent PUT), CreateTask 1–2 (search by key, create with association 204).
//
// Errors: 401/403 → domain.ErrConfig naming HUBSPOT_TOKEN; 429 with policy
// TEN_SECONDLY_ROLLING (or the search "secondly limit") is waited out and
// retried a bounded number of times, 429 DAILY is returned at once as
// domain.ErrRateLimited with the policy; 5xx and transport errors are retried
// with linear backoff, then domain.ErrUnavailable; 404 → domain.ErrNotFound.
// Non-idempotent creates are never retried.
package hubspot
