// Package salesforce is the crm.CRM adapter for Salesforce (REST API, SOQL).
//
// Authentication is OAuth 2.0 against SALESFORCE_LOGIN_URL (a My Domain host
// for the client-credentials flow): with SALESFORCE_REFRESH_TOKEN set the
// refresh-token flow, otherwise client credentials (SALESFORCE_CLIENT_ID,
// SALESFORCE_CLIENT_SECRET). The caller reads these into Config. Tokens
// carry no expiry; a 401 INVALID_SESSION_ID refreshes the token once and
// retries the request.
//
// Org set-up: custom fields Contact.WeCom_External_UserId__c (Text, External
// ID, Unique), Contact.WeCom_UnionId__c (Text) and
// Activity.WeCom_Conversation_Key__c (Text(255), External ID, Unique).
//
// Mapping: contacts are Contacts (company = Account.Name, created on demand);
// a conversation note is a Completed Task upserted by
// PATCH /sobjects/Task/WeCom_Conversation_Key__c/{key} (201 created, 200 or
// 204 updated); follow-up tasks are open Tasks whose key is "task:"+Key,
// with the exact due time in ReminderDateTime and its UTC date in
// ActivityDate; deals are Opportunities linked by OpportunityContactRole.
// String literals in SOQL are escaped (quotes, backslashes; LIKE wildcards).
//
// Errors: 401 after a refresh, invalid_grant/invalid_client and 403 other
// than REQUEST_LIMIT_EXCEEDED → domain.ErrConfig naming the variables;
// 403 REQUEST_LIMIT_EXCEEDED → domain.ErrRateLimited; 404 → ErrNotFound;
// 300 → ErrConflict; 5xx and transport errors → ErrUnavailable.
package salesforce
